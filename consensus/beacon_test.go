package consensus_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/consensus/consensustest"
)

// A home outside the configuration learns the leader and its term from
// the leader's beacon alone, forgets it once the beacon is older than
// BeaconMaxAge, takes a new leader's beacon of a newer term, and never a
// follower's: only a leader beacons.
func TestBeaconNamesTheLeaderToAHomeOutsideTheConfiguration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newUnformed(t, 4, false)
		ctx := context.Background()
		leader := foundNamed(t, ms[:3], "0001-a")
		outside := ms[3]
		if id, _ := outside.g.Leader(); id != "" {
			t.Fatalf("outside home names leader %q before any beacon", id)
		}
		for _, m := range ms[:3] {
			if m == leader {
				continue
			}
			var nl *consensus.NotLeaderError
			if _, err := m.g.Beacon(ctx, ids(ms[3:]), nil); !errors.As(err, &nl) {
				t.Fatalf("Beacon from follower %s: %v, want NotLeaderError", m.name, err)
			}
		}
		if sent, err := leader.g.Beacon(ctx, ids(ms[3:]), nil); err != nil || sent != 1 {
			t.Fatalf("Beacon = %d, %v; want 1 sent", sent, err)
		}
		_, term := leader.g.Leader()
		waitNames(t, outside, leader, term)
		if _, _, cluster := outside.g.Beaconed(); cluster != "0001-a" {
			t.Fatalf("beaconed cluster %q, want 0001-a", cluster)
		}
		if outside.g.HasState() {
			t.Fatal("a beacon gave the outside home Raft state")
		}
		time.Sleep(consensus.BeaconMaxAge + time.Second)
		if id, _ := outside.g.Leader(); id != "" {
			t.Fatalf("outside home still names %q after BeaconMaxAge without a beacon", id)
		}

		// The leader dies; the next one's beacon names it in a newer term.
		leader.kill(t)
		var rest []*member
		for _, m := range ms[:3] {
			if m != leader {
				rest = append(rest, m)
			}
		}
		next := waitLeader(t, rest)
		if _, err := next.g.Beacon(ctx, ids(ms[3:]), nil); err != nil {
			t.Fatalf("Beacon from the new leader: %v", err)
		}
		_, nextTerm := next.g.Leader()
		if nextTerm <= term {
			t.Fatalf("new leader's term %d, not after %d", nextTerm, term)
		}
		waitNames(t, outside, next, nextTerm)
	})
}

// foundNamed founds a cluster of voters ms on ms[0], waits for its
// leader and names the cluster, and returns the leader.
func foundNamed(t *testing.T, ms []*member, name string) *member {
	t.Helper()
	if err := ms[0].g.Bootstrap(ids(ms)); err != nil {
		t.Fatalf("Bootstrap on %s: %v", ms[0].name, err)
	}
	leader := waitLeader(t, ms)
	if _, err := leader.g.NameCluster(context.Background(), name); err != nil {
		t.Fatalf("NameCluster: %v", err)
	}
	return leader
}

// waitNames waits until m names leader in term.
func waitNames(t *testing.T, m, leader *member, term uint64) {
	t.Helper()
	consensustest.WaitFor(t, settle, func() error {
		if id, got := m.g.Leader(); id != leader.id.String() || got != term {
			return fmt.Errorf("%s names %q in term %d, want %s in %d", m.name, id, got, leader.name, term)
		}
		return nil
	})
}

// A home refuses beacons from a peer its neighborhood does not admit,
// and beacons of another cluster than the one it holds.
func TestBeaconRefusedFromStrangersAndOtherClusters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := consensustest.NewNetwork()
		ms := newMembers(t, consensustest.NewPeerIDs(t, 3), 0, false, func(m *member) { m.net = net })
		leaderID := ms[0].id
		ms[1].cfg.Admit = func(p peer.ID) bool { return p != leaderID }
		openAll(t, ms)
		ctx := context.Background()
		foundNamed(t, ms[:1], "0001-a")
		foundNamed(t, ms[2:], "0002-b")
		_, _ = ms[0].g.Beacon(ctx, ids(ms[1:]), nil)
		consensustest.WaitFor(t, settle, func() error {
			for _, m := range ms[1:] {
				if m.g.BeaconsRefused() == 0 {
					return fmt.Errorf("%s has not refused the beacon yet", m.name)
				}
			}
			return nil
		})
		for _, m := range ms[1:] {
			if id, _, _ := m.g.Beaconed(); id != "" {
				t.Fatalf("%s believes a beacon naming %q", m.name, id)
			}
		}
	})
}

// A home outside the configuration never applies the log: the leader's
// beacon carries the newest revocations to it, and it reports them (and
// a notice) as a member reports those of its log.
func TestBeaconCarriesRevocationsOutside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newUnformed(t, 4, false)
		ctx := context.Background()
		leader := foundNamed(t, ms[:3], "0001-a")
		outside := ms[3]
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		revoked := ms[2].id.String()
		r := gridmesh.Revocation{Version: gridmesh.WireVersion, Neighborhood: "nb", Peer: revoked, IssuedMs: 1}
		if err := r.Sign(priv); err != nil {
			t.Fatal(err)
		}
		if err := leader.g.Revoke(ctx, r); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if len(outside.g.Revoked()) != 0 {
			t.Fatal("the outside home holds a revocation before any beacon")
		}
		select { // drain a notice from before
		case <-outside.g.RevocationsChanged():
		default:
		}
		if _, err := leader.g.Beacon(ctx, ids(ms[3:]), nil); err != nil {
			t.Fatalf("Beacon: %v", err)
		}
		select {
		case <-outside.g.RevocationsChanged():
		case <-time.After(settle):
			t.Fatal("no notice of the beacon's revocation")
		}
		got := outside.g.Revoked()
		if len(got) != 1 || got[0].Peer != revoked || !bytes.Equal(got[0].Signature, r.Signature) {
			t.Fatalf("outside home holds %+v, want the revocation of %s", got, revoked)
		}
		// The next beacon carries it again: held once, no new notice.
		if _, err := leader.g.Beacon(ctx, ids(ms[3:]), nil); err != nil {
			t.Fatalf("Beacon: %v", err)
		}
		time.Sleep(time.Second)
		select {
		case <-outside.g.RevocationsChanged():
			t.Fatal("a revocation held already gave a notice again")
		default:
		}
		if n := len(outside.g.Revoked()); n != 1 {
			t.Fatalf("outside home holds %d revocations, want 1", n)
		}
	})
}

// A beacon that carries a plan hands it to the outside home's
// BeaconPlan, from the leader, once the beacon names that leader; a
// beacon without one hands nothing.
func TestBeaconCarriesThePlan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := consensustest.NewNetwork()
		ms := newMembers(t, consensustest.NewPeerIDs(t, 4), 0, false, func(m *member) { m.net = net })
		type got struct {
			from  peer.ID
			plan  string
			named string
		}
		plans := make(chan got, 4)
		outside := ms[3]
		outside.cfg.BeaconPlan = func(from peer.ID, plan []byte) {
			leader, _ := outside.g.Leader()
			plans <- got{from, string(plan), leader}
		}
		openAll(t, ms)
		ctx := context.Background()
		leader := foundNamed(t, ms[:3], "0001-a")
		if _, err := leader.g.Beacon(ctx, ids(ms[3:]), []byte("the plan")); err != nil {
			t.Fatalf("Beacon: %v", err)
		}
		select {
		case g := <-plans:
			if g.from != leader.id || g.plan != "the plan" || g.named != leader.id.String() {
				t.Fatalf("BeaconPlan(%s, %q) naming %s; want the plan from %s, named leader", g.from, g.plan, g.named, leader.id)
			}
		case <-time.After(settle):
			t.Fatal("no plan from the beacon")
		}
		if _, err := leader.g.Beacon(ctx, ids(ms[3:]), nil); err != nil {
			t.Fatalf("Beacon: %v", err)
		}
		time.Sleep(time.Second)
		select {
		case g := <-plans:
			t.Fatalf("a beacon without a plan gave %+v", g)
		default:
		}
	})
}
