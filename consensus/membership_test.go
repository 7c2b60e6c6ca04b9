package consensus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/consensus/consensustest"
)

// newUnformed opens n members with no configured servers and no state,
// in DataDirs of their own when durable.
func newUnformed(t *testing.T, n int, durable bool) []*member {
	t.Helper()
	net := consensustest.NewNetwork()
	ms := newMembers(t, consensustest.NewPeerIDs(t, n), 0, durable, func(m *member) { m.net = net })
	return openAll(t, ms)
}

func ids(ms []*member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.id.String()
	}
	return out
}

// suffrage returns how many voters and non-voters m's configuration has.
func suffrage(t *testing.T, m *member) (voters, nonVoters int) {
	t.Helper()
	servers, _, err := m.g.Members()
	if err != nil {
		t.Fatalf("Members on %s: %v", m.name, err)
	}
	for _, s := range servers {
		if s.Voter {
			voters++
		} else {
			nonVoters++
		}
	}
	return voters, nonVoters
}

// One member founds the group with three voters while the other two hold
// no state: they vote for it, learn the configuration from its log and
// follow; the leader then adds, promotes, demotes and removes members,
// and names the cluster once.
func TestBootstrapFromOneFounderAndChangeMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newUnformed(t, 5, true)
		ctx := context.Background()
		for _, m := range ms {
			if m.g.HasState() {
				t.Fatalf("%s has state before any bootstrap", m.name)
			}
		}
		if err := ms[0].g.Bootstrap(ids(ms[:3])); err != nil {
			t.Fatalf("Bootstrap: %v", err)
		}
		if err := ms[0].g.Bootstrap(ids(ms[:3])); !errors.Is(err, consensus.ErrHasState) {
			t.Fatalf("second Bootstrap: %v, want ErrHasState", err)
		}
		leader := waitLeader(t, ms[:3])
		name, err := leader.g.NameCluster(ctx, "cluster-a")
		if err != nil || name != "cluster-a" {
			t.Fatalf("NameCluster = %q, %v", name, err)
		}
		if name, err := leader.g.NameCluster(ctx, "cluster-b"); err != nil || name != "cluster-a" {
			t.Fatalf("second NameCluster = %q, %v; the first name must stay", name, err)
		}
		for _, m := range ms[3:] {
			if err := leader.g.AddNonvoter(ctx, m.id.String()); err != nil {
				t.Fatalf("AddNonvoter %s: %v", m.name, err)
			}
		}
		e := commit(t, leader, "plan-1")
		waitPlan(t, ms, e, "plan-1", 1)
		consensustest.WaitFor(t, settle, func() error {
			for _, m := range ms {
				if got := m.g.ClusterID(); got != "cluster-a" {
					return fmt.Errorf("%s names cluster %q", m.name, got)
				}
				if v, nv := suffrage(t, m); v != 3 || nv != 2 {
					return fmt.Errorf("%s sees %d voters and %d non-voters, want 3 and 2", m.name, v, nv)
				}
			}
			return nil
		})
		if err := ms[3].g.Bootstrap(ids(ms[3:])); !errors.Is(err, consensus.ErrHasState) {
			t.Fatalf("Bootstrap on an added member: %v, want ErrHasState", err)
		}
		// A follower cannot change the configuration.
		var follower *member
		for _, m := range ms {
			if m != leader {
				follower = m
				break
			}
		}
		var nl *consensus.NotLeaderError
		if err := follower.g.AddVoter(ctx, ms[4].id.String()); !errors.As(err, &nl) {
			t.Fatalf("AddVoter on a follower: %v, want NotLeaderError", err)
		}
		if err := leader.g.AddVoter(ctx, ms[3].id.String()); err != nil {
			t.Fatalf("promote: %v", err)
		}
		if err := leader.g.AddVoter(ctx, ms[4].id.String()); err != nil {
			t.Fatalf("promote: %v", err)
		}
		if v, nv := suffrage(t, leader); v != 5 || nv != 0 {
			t.Fatalf("after promotions: %d voters, %d non-voters", v, nv)
		}
		if err := leader.g.DemoteVoter(ctx, ms[4].id.String()); err != nil {
			t.Fatalf("demote: %v", err)
		}
		if err := leader.g.RemoveServer(ctx, ms[4].id.String()); err != nil {
			t.Fatalf("remove: %v", err)
		}
		if v, nv := suffrage(t, leader); v != 4 || nv != 0 {
			t.Fatalf("after demote and remove: %d voters, %d non-voters", v, nv)
		}
		e = commit(t, leader, "plan-2")
		waitPlan(t, ms[:4], e, "plan-2", 2)

		// The removed member, restarted from its data directory, names its
		// cluster at once from its stored log, though no leader will ever
		// tell it what is committed: the leader it comes back to adds back
		// only homes that name its cluster.
		gone := ms[4]
		if err := gone.g.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		gone.open(t, consensustest.Logger(t))
		if got := gone.g.ClusterID(); got != "cluster-a" {
			t.Fatalf("restarted removed member names cluster %q, want cluster-a from its stored log", got)
		}
	})
}

// A member wiped by Reset forgets its group (log, votes, snapshots and
// cluster name) and is joined again by the leader like a new home.
func TestResetWipesAndRejoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newUnformed(t, 4, true)
		ctx := context.Background()
		if err := ms[0].g.Bootstrap(ids(ms[:3])); err != nil {
			t.Fatalf("Bootstrap: %v", err)
		}
		leader := waitLeader(t, ms[:3])
		if _, err := leader.g.NameCluster(ctx, "cluster-a"); err != nil {
			t.Fatal(err)
		}
		if err := leader.g.AddNonvoter(ctx, ms[3].id.String()); err != nil {
			t.Fatal(err)
		}
		e := commit(t, leader, "plan-1")
		waitPlan(t, ms, e, "plan-1", 1)

		m := ms[3]
		if err := m.g.Reset(); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if m.g.HasState() || m.g.ClusterID() != "" || m.g.Resets() != 1 {
			t.Fatalf("after Reset: state %v, cluster %q, resets %d", m.g.HasState(), m.g.ClusterID(), m.g.Resets())
		}
		// The leader still lists it; the next appends find a member with an
		// empty log, and raft backs up and replays it all.
		e = commit(t, leader, "plan-2")
		waitPlan(t, ms, e, "plan-2", 2)
		if got := m.g.ClusterID(); got != "cluster-a" {
			t.Fatalf("rejoined member names cluster %q", got)
		}
	})
}
