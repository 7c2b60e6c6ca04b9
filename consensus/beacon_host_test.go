package consensus_test

import (
	"context"
	"testing"
)

// Beacons travel on libp2p streams of the home's host, as Raft does.
func TestBeaconOnHosts(t *testing.T) {
	ms := newHostNeighborhood(t, 0, 4) // no state: the first three found
	leader := foundNamed(t, ms[:3], "0001-a")
	if sent, err := leader.g.Beacon(context.Background(), ids(ms[3:]), nil); err != nil || sent != 1 {
		t.Fatalf("Beacon = %d, %v; want 1 sent", sent, err)
	}
	_, term := leader.g.Leader()
	waitNames(t, ms[3], leader, term)
}
