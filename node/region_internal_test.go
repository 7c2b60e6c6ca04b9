package node

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
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
