package consensus_test

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/consensus/consensustest"
)

// Beacons travel on libp2p streams of the home's host, as Raft does.
func TestBeaconOnHosts(t *testing.T) {
	hosts := consensustest.NewHosts(t, 4)
	consensustest.Introduce(hosts...)
	idsOf := make([]peer.ID, len(hosts))
	for i, h := range hosts {
		idsOf[i] = h.ID()
	}
	i := 0
	ms := openAll(t, newMembers(t, idsOf, 0, false, func(m *member) { m.h = hosts[i]; i++ }))
	ctx := context.Background()
	if err := ms[0].g.Bootstrap(ids(ms[:3])); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	leader := waitLeader(t, ms[:3])
	if _, err := leader.g.NameCluster(ctx, "0001-a"); err != nil {
		t.Fatalf("NameCluster: %v", err)
	}
	if sent, err := leader.g.Beacon(ctx, ids(ms[3:])); err != nil || sent != 1 {
		t.Fatalf("Beacon = %d, %v; want 1 sent", sent, err)
	}
	_, term := leader.g.Leader()
	waitNames(t, ms[3], leader, term)
}
