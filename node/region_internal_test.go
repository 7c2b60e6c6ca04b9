package node

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

var regionNow = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

func randomAggregates(rng *rand.Rand, n int) []gridmesh.Aggregate {
	out := make([]gridmesh.Aggregate, n)
	for i := range out {
		out[i] = gridmesh.Aggregate{
			Version: gridmesh.WireVersion, Neighborhood: gridmesh.NeighborhoodID(fmt.Sprintf("n%02d", i)),
			Epoch: gridmesh.Epoch{Term: 1 + rng.Uint64N(3), Index: rng.Uint64N(100)},
			AtMs:  regionNow.Add(-time.Duration(rng.IntN(5000)) * time.Millisecond).UnixMilli(), ForS: 15,
			UpW: gridmesh.W(rng.Float64() * 40_000), DownW: gridmesh.W(rng.Float64() * 40_000),
			UpWh: gridmesh.Wh(rng.Float64() * 100_000), DownWh: gridmesh.Wh(rng.Float64() * 100_000),
		}
	}
	return out
}

// Leaders that received the same aggregates and signals in any order
// decide the same split; each neighborhood's part is within its capacity,
// and the parts sum to the request when the capacities suffice. Through
// the node path: regionState, decide, RegionalSeq.
func TestRegionSplitSameEverywhereAndSumsToRequest(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	for round := range 200 {
		aggs := randomAggregates(rng, 1+rng.IntN(8))
		kind := gridmesh.SignalCutImport
		value := 0.0
		if rng.IntN(2) == 0 {
			kind, value = gridmesh.SignalRegulation, 2*rng.Float64()-1
		}
		sig := gridmesh.Signal{
			Version: gridmesh.WireVersion, ID: "s", Kind: kind, Region: "r",
			StartMs: regionNow.Add(-time.Minute).UnixMilli(), EndMs: regionNow.Add(time.Hour).UnixMilli(),
			AmountW: gridmesh.W(1 + rng.Float64()*200_000), Seq: 5, Value: value,
		}
		var views [3]*regionState
		for v := range views {
			views[v] = &regionState{}
			// Every view gets the aggregates in its own order, with older
			// copies of some that the newer must supersede.
			for _, i := range rng.Perm(len(aggs)) {
				a := aggs[i]
				if rng.IntN(3) == 0 {
					old := a
					old.AtMs -= 1000
					old.UpW *= 2
					views[v].putAggregate(old)
				}
				views[v].putAggregate(a)
			}
			views[v].putSignal(sig, regionNow)
		}
		var sum, capacity gridmesh.W
		var first []RegionShare
		for i, a := range aggs {
			var shares []RegionShare
			for v, view := range views {
				d := view.decide(a.Neighborhood, regionNow)
				if len(d.Signals) != 1 {
					t.Fatalf("round %d: %d signals in force", round, len(d.Signals))
				}
				s := d.Signals[0]
				if v == 0 {
					shares = s.Shares
				} else if fmt.Sprint(s.Shares) != fmt.Sprint(shares) {
					t.Fatalf("round %d: views split differently:\n%v\n%v", round, shares, s.Shares)
				}
				if s.ShareW < 0 || s.ShareW > s.CapacityW*(1+1e-12) {
					t.Fatalf("round %d: %s share %v beyond capacity %v", round, a.Neighborhood, s.ShareW, s.CapacityW)
				}
				want := gridmesh.W(s.Value) * s.ShareW
				if d.OffsetW != want || (kind == gridmesh.SignalCutImport) != (s.Value == 1) {
					t.Fatalf("round %d: offset %v, value %v × share %v", round, d.OffsetW, s.Value, s.ShareW)
				}
				if d.Seq != RegionalSeq(5, false) {
					t.Fatalf("round %d: seq %d", round, d.Seq)
				}
				if v == 0 {
					sum += s.ShareW
					capacity += s.CapacityW
				}
			}
			if i == 0 {
				first = shares
			} else if fmt.Sprint(first) != fmt.Sprint(shares) {
				t.Fatalf("round %d: neighborhoods see different splits", round)
			}
		}
		want := min(sig.AmountW, capacity)
		if math.Abs(float64(sum-want)) > 1e-6*float64(sig.AmountW) {
			t.Fatalf("round %d: shares sum to %v, want %v (request %v, capacity %v)", round, sum, want, sig.AmountW, capacity)
		}
	}
}

// A regulation step holds RegulationStepHoldMs at most; a newer step
// replaces it, an older one does not; once the signal ends it adds
// nothing and the Seq part says so.
func TestRegionRegulationSteps(t *testing.T) {
	rs := &regionState{}
	agg := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 1},
		AtMs: regionNow.UnixMilli(), ForS: 600, UpW: 10_000, DownW: 10_000, UpWh: 1e6, DownWh: 1e6,
	}
	rs.putAggregate(agg)
	step := func(seq uint64, v float64) gridmesh.Signal {
		return gridmesh.Signal{
			Version: gridmesh.WireVersion, ID: "reg", Kind: gridmesh.SignalRegulation, Region: "r",
			StartMs: regionNow.UnixMilli(), EndMs: regionNow.Add(5 * time.Minute).UnixMilli(),
			AmountW: 4000, Seq: seq, Value: v,
		}
	}
	if !rs.putSignal(step(2, 0.5), regionNow) {
		t.Fatal("first step refused")
	}
	if rs.putSignal(step(1, -1), regionNow) {
		t.Fatal("an older step replaced a newer one")
	}
	if d := rs.decide("n1", regionNow.Add(time.Second)); d.OffsetW != 2000 {
		t.Fatalf("offset %v, want 0.5 × 4000", d.OffsetW)
	}
	rs.putSignal(step(3, -0.25), regionNow.Add(2*time.Second))
	if d := rs.decide("n1", regionNow.Add(3*time.Second)); d.OffsetW != -1000 || d.Seq != RegionalSeq(3, false) {
		t.Fatalf("offset %v seq %d, want -1000 and %d", d.OffsetW, d.Seq, RegionalSeq(3, false))
	}
	held := regionNow.Add(2*time.Second + gridmesh.RegulationStepHoldMs*time.Millisecond + time.Millisecond)
	if d := rs.decide("n1", held); d.OffsetW != 0 {
		t.Fatalf("offset %v after the stream stopped, want 0", d.OffsetW)
	}
	if d := rs.decide("n1", regionNow.Add(5*time.Minute)); d.OffsetW != 0 || len(d.Signals) != 0 || d.Seq != RegionalSeq(3, true) {
		t.Fatalf("after the end: %+v", d)
	}
}

// A home that leads since less than regionWarmUp, and has not heard
// every neighborhood, does not split a signal from its partial view (it
// would take the whole cut): it dispatches no regional offset, or its
// predecessor's (offsetCarried); once warm it dispatches its share of
// the same split every other leader computes.
func TestNewLeaderWaitsForAWarmView(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 3))
	aggs := randomAggregates(rng, 4)
	for i := range aggs {
		aggs[i].AtMs = regionNow.UnixMilli()
	}
	own := aggs[0].Neighborhood
	sig := gridmesh.Signal{
		Version: gridmesh.WireVersion, ID: "cut", Kind: gridmesh.SignalCutImport, Region: "r",
		StartMs: regionNow.Add(-time.Minute).UnixMilli(), EndMs: regionNow.Add(time.Hour).UnixMilli(),
		AmountW: 10_000, Seq: 3,
	}
	base := gridmesh.Target{Seq: 7, ImportW: 4000}
	n := &Node{cfg: Config{Neighborhood: own}}
	n.region.putSignal(sig, regionNow)
	n.region.putAggregate(aggs[0]) // its own, published as it started leading

	// Not leading: no aggregates topic, never warm.
	if n.region.warm(regionNow, 1, 0) {
		t.Fatal("a home not on the aggregates topic is warm")
	}
	n.region.joinedAt.Store(regionNow.Add(-time.Second).UnixNano())
	got := n.regionalTarget(base, regionNow)
	want := gridmesh.Target{Seq: base.Seq + RegionalSeq(sig.Seq, false), ImportW: base.ImportW}
	if got != want {
		t.Fatalf("a leader warming up dispatches %+v, want %+v (no offset: no predecessor's plan)", got, want)
	}
	// Its neighborhood count known (admission): warm once it holds all.
	for _, a := range aggs[1:] {
		n.region.putAggregate(a)
	}
	held := n.region.decide(own, regionNow).Aggregates
	if held != len(aggs) || !n.region.warm(regionNow, held, len(aggs)) || n.region.warm(regionNow, held, len(aggs)+1) {
		t.Fatal("warm should follow the aggregates held against those expected")
	}
	// Warm by time: its share of the full view, as every leader's.
	n.region.joinedAt.Store(regionNow.Add(-regionWarmUp).UnixNano())
	d := n.region.decide(own, regionNow)
	if len(d.Signals) != 1 || d.Signals[0].ShareW <= 0 || len(d.Signals[0].Shares) != len(aggs) {
		t.Fatalf("decision %+v: want a share of a split among %d", d, len(aggs))
	}
	got = n.regionalTarget(base, regionNow)
	if want := (gridmesh.Target{Seq: want.Seq, ImportW: base.ImportW - d.OffsetW}); got != want {
		t.Fatalf("a warm leader dispatches %+v, want %+v", got, want)
	}
	if math.Float64frombits(n.region.appliedW.Load()) != float64(d.OffsetW) {
		t.Fatal("the applied offset is not the one dispatched")
	}
}

// A new leader holds the offset its predecessor's last committed plan
// carried while that plan was made for the same own target and the same
// signals (the same regional Seq); for anything else it holds none.
func TestOffsetCarriedByTheLastPlan(t *testing.T) {
	base := gridmesh.Target{Seq: 7, ImportW: 4000}
	seq := RegionalSeq(3, false)
	plan := gridmesh.Plan{
		Version: gridmesh.WireVersion, Neighborhood: "n00", IssuedAtMs: regionNow.UnixMilli(), LeaseMs: 5000,
		Target: gridmesh.Target{Seq: base.Seq + seq, ImportW: base.ImportW - 1250},
	}
	body, err := mesh.EncodePlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte
		t    gridmesh.Target
		seq  uint64
		want gridmesh.W
	}{
		{"same target and signals", body, base, seq, 1250},
		{"a signal ended since", body, base, RegionalSeq(3, true), 0},
		{"a new own target", body, gridmesh.Target{Seq: 8, ImportW: 3000}, seq, 0},
		{"no plan yet", nil, base, seq, 0},
		{"undecodable", []byte("junk"), base, seq, 0},
	} {
		if got := offsetCarried(c.body, c.t, c.seq); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
