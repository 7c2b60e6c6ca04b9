package mesh_test

import (
	"errors"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// A plan a beacon carried is judged as the plan topic judges one: the
// leader's of its term is delivered by NextPlan whether or not the home
// subscribes to the topic; another peer's, an older term's, another
// neighborhood's and bytes that do not decode are refused and counted.
// A home off the topic receives no topic copies; back on it, it does.
func TestPlanFromTheBeacon(t *testing.T) {
	leader := meshtest.Open(t, meshtest.Config())
	home := meshtest.Open(t, meshtest.Config())
	view := meshtest.NewLeaders(leader.ID(), 3)
	ln := join(t, leader, nbhd, view, false)
	hn := join(t, home, nbhd, view, false)
	meshtest.Connect(t, leader.Host(), home.Host())
	waitPeers(t, "the home's plan subscription to reach the leader", ln.PlanPeers, home.ID())
	if !hn.PlansSubscribed() {
		t.Fatal("a joined home is not on the plan topic")
	}
	if err := hn.SubscribePlans(false); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "the leader to see the home leave the plan topic", func() bool { return len(ln.PlanPeers()) == 0 })

	raw := func(term, index uint64, n string) []byte {
		p := plan(nbhd, term, index)
		p.Neighborhood = gridmesh.NeighborhoodID(n)
		b, err := mesh.EncodePlan(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name   string
		from   bool // from the leader
		body   []byte
		reason string
	}{
		{"another peer's", false, raw(3, 1, string(nbhd)), mesh.ReasonNotLeader},
		{"an older term's", true, raw(2, 1, string(nbhd)), mesh.ReasonStaleTerm},
		{"another neighborhood's", true, raw(3, 1, "feeder-2"), mesh.ReasonWrongNeighborhood},
		{"undecodable", true, []byte{0xff, 0x00}, mesh.ReasonUndecodable},
	} {
		from := home.ID()
		if c.from {
			from = leader.ID()
		}
		before := home.Rejections()[c.reason]
		var refused *mesh.RefusedError
		if err := hn.DeliverPlan(from, c.body); !errors.As(err, &refused) || refused.Reason != c.reason {
			t.Errorf("%s: %v, want refused as %s", c.name, err, c.reason)
		}
		if home.Rejections()[c.reason] != before+1 {
			t.Errorf("%s: not counted as %s", c.name, c.reason)
		}
	}
	// Off the topic: the leader's publish does not reach the home; its
	// beacon's plan does.
	if err := ln.PublishPlan(t.Context(), plan(nbhd, 3, 7)); err != nil {
		t.Fatal(err)
	}
	if err := hn.DeliverPlan(leader.ID(), raw(3, 8, string(nbhd))); err != nil {
		t.Fatalf("the leader's plan from its beacon: %v", err)
	}
	got, author, err := hn.NextPlan(timeout(t))
	if err != nil || author != leader.ID() || got.Epoch.Index != 8 {
		t.Fatalf("NextPlan = %v from %s, %v; want index 8 from the leader (the topic's 7 not delivered)", got.Epoch, author, err)
	}
	if tr := hn.PlanTraffic(); tr.Received != 1 || tr.Last.IsZero() {
		t.Fatalf("plan traffic %+v, want one received", tr)
	}
	// Back on the topic: the next publish arrives.
	if err := hn.SubscribePlans(true); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, "the home's plan subscription to reach the leader again", ln.PlanPeers, home.ID())
	if err := ln.PublishPlan(t.Context(), plan(nbhd, 3, 9)); err != nil {
		t.Fatal(err)
	}
	got, _, err = hn.NextPlan(timeout(t))
	if err != nil || got.Epoch.Index != 9 {
		t.Fatalf("NextPlan = %v, %v; want the topic's index 9", got.Epoch, err)
	}
}
