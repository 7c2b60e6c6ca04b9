package control

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestRegionalSeq(t *testing.T) {
	for _, tc := range []struct {
		seq   uint64
		ended bool
		want  uint64
	}{{0, false, 0}, {0, true, 1}, {5, false, 10}, {5, true, 11}, {6, false, 12}} {
		if got := RegionalSeq(tc.seq, tc.ended); got != tc.want {
			t.Errorf("RegionalSeq(%d, %v) = %d, want %d", tc.seq, tc.ended, got, tc.want)
		}
	}
}

func TestNewerSignalAndAggregate(t *testing.T) {
	s := func(seq uint64) gridmesh.Signal { return gridmesh.Signal{ID: "s", Seq: seq} }
	for _, tc := range []struct {
		s, old gridmesh.Signal
		want   bool
	}{{s(2), s(1), true}, {s(1), s(1), false}, {s(1), s(2), false}} {
		if got := NewerSignal(tc.s, tc.old); got != tc.want {
			t.Errorf("signal seq %d over %d: %v, want %v", tc.s.Seq, tc.old.Seq, got, tc.want)
		}
	}
	a := func(term, index uint64, atMs int64) gridmesh.Aggregate {
		return gridmesh.Aggregate{Neighborhood: "n", Epoch: gridmesh.Epoch{Term: term, Index: index}, AtMs: atMs}
	}
	for _, tc := range []struct {
		a, old gridmesh.Aggregate
		want   bool
	}{
		{a(2, 0, 0), a(1, 9, 9), true},  // a later term
		{a(1, 2, 0), a(1, 1, 9), true},  // a later index
		{a(1, 1, 10), a(1, 1, 9), true}, // same epoch, later
		{a(1, 1, 9), a(1, 1, 9), false},
		{a(1, 1, 10), a(1, 2, 0), false},
		{a(1, 9, 9), a(2, 0, 0), false},
	} {
		if got := NewerAggregate(tc.a, tc.old); got != tc.want {
			t.Errorf("%+v over %+v: %v, want %v", tc.a, tc.old, got, tc.want)
		}
	}
}

func TestKeepSignalAndAggregate(t *testing.T) {
	sig := cut(1000, t0, time.Hour) // ends t0+1h
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{t0, true},
		{t0.Add(time.Hour + SignalKeepAfterEnd), true},
		{t0.Add(time.Hour + SignalKeepAfterEnd + time.Millisecond), false},
	} {
		if got := KeepSignal(sig, tc.now); got != tc.want {
			t.Errorf("signal at %v: %v, want %v", tc.now, got, tc.want)
		}
	}
	a := agg("n", 1, 1, 1, 1) // at t0 for 30 s
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{{t0, true}, {t0.Add(29 * time.Second), true}, {t0.Add(30 * time.Second), false}} {
		if got := KeepAggregate(a, tc.now); got != tc.want {
			t.Errorf("aggregate at %v: %v, want %v", tc.now, got, tc.want)
		}
	}
}

func regulation(seq uint64, value float64, start time.Time, d time.Duration) gridmesh.Signal {
	return gridmesh.Signal{
		Version: gridmesh.WireVersion, ID: "reg", Kind: gridmesh.SignalRegulation, Region: "r",
		StartMs: start.UnixMilli(), EndMs: start.Add(d).UnixMilli(), AmountW: 4000, Seq: seq, Value: value,
	}
}

func TestDecideRegion(t *testing.T) {
	aggs := []gridmesh.Aggregate{agg("n1", 10_000, 10_000, 1e6, 1e6), agg("n2", 30_000, 30_000, 1e6, 1e6)}
	for i := range aggs {
		aggs[i].ForS = 600 // fresh throughout
	}
	stale := agg("n3", 10_000, 10_000, 1e6, 1e6)
	stale.AtMs = t0.Add(-time.Minute).UnixMilli()
	older := aggs[1]
	older.AtMs--
	older.UpW = 1 // superseded: must not count
	future := cut(8000, t0.Add(time.Hour), time.Hour)
	future.ID = "later"
	for _, tc := range []struct {
		name       string
		view       RegionView
		now        time.Time
		offsetW    gridmesh.W
		seq        uint64
		signals    int
		aggregates int
	}{
		{"nothing", RegionView{Aggregates: aggs}, t0, 0, 0, 0, 2},
		{"a cut, split by capacity", RegionView{Signals: []RegionSignal{{cut(8000, t0.Add(-time.Minute), time.Hour), t0}}, Aggregates: aggs},
			t0, 2000, RegionalSeq(1, false), 1, 2},
		{"stale and superseded aggregates left out", RegionView{Signals: []RegionSignal{{cut(8000, t0.Add(-time.Minute), time.Hour), t0}},
			Aggregates: append([]gridmesh.Aggregate{stale, older}, aggs...)}, t0, 2000, RegionalSeq(1, false), 1, 2},
		{"not started yet", RegionView{Signals: []RegionSignal{{future, t0}}, Aggregates: aggs}, t0, 0, 0, 0, 2},
		{"ended: no offset, the Seq says so", RegionView{Signals: []RegionSignal{{cut(8000, t0.Add(-2*time.Minute), time.Minute), t0}}, Aggregates: aggs},
			t0, 0, RegionalSeq(1, true), 0, 2},
		{"regulation: value × share", RegionView{Signals: []RegionSignal{{regulation(3, -0.5, t0, time.Hour), t0}}, Aggregates: aggs},
			t0.Add(time.Second), -500, RegionalSeq(3, false), 1, 2},
		{"regulation stream stopped: baseline", RegionView{Signals: []RegionSignal{{regulation(3, -0.5, t0, time.Hour), t0}}, Aggregates: aggs},
			t0.Add(gridmesh.RegulationStepHoldMs*time.Millisecond + time.Millisecond), 0, RegionalSeq(3, false), 1, 2},
		{"two steps of one signal: the newest", RegionView{Signals: []RegionSignal{
			{regulation(3, -0.5, t0, time.Hour), t0}, {regulation(4, 1, t0, time.Hour), t0}}, Aggregates: aggs},
			t0.Add(time.Second), 1000, RegionalSeq(4, false), 1, 2},
		{"a cut withdrawn by a newer step of zero: no offset", RegionView{Signals: []RegionSignal{
			{cut(8000, t0.Add(-time.Minute), time.Hour), t0}, {withdrawn(cut(8000, t0.Add(-time.Minute), time.Hour)), t0}}, Aggregates: aggs},
			t0, 0, RegionalSeq(2, false), 1, 2},
	} {
		d := DecideRegion(tc.view, "n1", tc.now)
		if !near(d.OffsetW, tc.offsetW) || d.Seq != tc.seq || len(d.Signals) != tc.signals || d.Aggregates != tc.aggregates {
			t.Errorf("%s: offset %v seq %d signals %d aggregates %d; want %v %d %d %d",
				tc.name, d.OffsetW, d.Seq, len(d.Signals), d.Aggregates, tc.offsetW, tc.seq, tc.signals, tc.aggregates)
		}
	}
}

// Leaders with the same view in any order decide the same split.
func TestDecideRegionOrderFree(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	for round := range 100 {
		var v RegionView
		for i := range 1 + rng.IntN(6) {
			v.Aggregates = append(v.Aggregates, agg(fmt.Sprintf("n%d", i), gridmesh.W(rng.Float64()*40_000), gridmesh.W(rng.Float64()*40_000), 1e6, 1e6))
		}
		for i := range 1 + rng.IntN(3) {
			s := cut(gridmesh.W(1+rng.Float64()*50_000), t0.Add(-time.Minute), time.Hour)
			s.ID = fmt.Sprintf("s%d", i)
			v.Signals = append(v.Signals, RegionSignal{Signal: s, At: t0})
		}
		want := fmt.Sprint(DecideRegion(v, "n0", t0))
		rng.Shuffle(len(v.Aggregates), func(i, j int) { v.Aggregates[i], v.Aggregates[j] = v.Aggregates[j], v.Aggregates[i] })
		rng.Shuffle(len(v.Signals), func(i, j int) { v.Signals[i], v.Signals[j] = v.Signals[j], v.Signals[i] })
		if got := fmt.Sprint(DecideRegion(v, "n0", t0)); got != want {
			t.Fatalf("round %d: order changed the decision:\n%s\n%s", round, want, got)
		}
	}
}

func TestRegionalTarget(t *testing.T) {
	base := gridmesh.Target{ImportW: 5000, Seq: 7}
	for _, tc := range []struct {
		name      string
		d         RegionDecision
		floor     uint64
		importW   gridmesh.W
		seq       uint64
		nextFloor uint64
	}{
		{"no signal", RegionDecision{}, 0, 5000, 7, 0},
		{"a cut in force", RegionDecision{OffsetW: 2000, Seq: 10}, 0, 3000, 17, 10},
		{"regulation upward", RegionDecision{OffsetW: -1000, Seq: 10}, 10, 6000, 17, 10},
		{"the signal left the view: Seq holds", RegionDecision{}, 11, 5000, 18, 11},
	} {
		got, floor := RegionalTarget(base, tc.d, tc.floor)
		if got.ImportW != tc.importW || got.Seq != tc.seq || floor != tc.nextFloor {
			t.Errorf("%s: import %v seq %d floor %d; want %v %d %d", tc.name, got.ImportW, got.Seq, floor, tc.importW, tc.seq, tc.nextFloor)
		}
	}
}

func TestRegionBoundaries(t *testing.T) {
	const wait = 250 * time.Millisecond
	sig := func(id string, start time.Time, d time.Duration) RegionSignal {
		s := cut(1000, start, d)
		s.ID = id
		return RegionSignal{Signal: s, At: t0}
	}
	for _, tc := range []struct {
		name    string
		sigs    []RegionSignal
		last    []string
		next    time.Time
		inForce []string
		crossed bool
	}{
		{"nothing", nil, nil, t0.Add(wait), nil, false},
		{"one starts soon", []RegionSignal{sig("a", t0.Add(100*time.Millisecond), time.Hour)}, nil, t0.Add(100 * time.Millisecond), nil, false},
		{"one started", []RegionSignal{sig("a", t0, time.Hour)}, nil, t0.Add(wait), []string{"a"}, true},
		{"still in force", []RegionSignal{sig("a", t0, time.Hour)}, []string{"a"}, t0.Add(wait), []string{"a"}, false},
		{"one ends soon", []RegionSignal{sig("a", t0.Add(-time.Hour), time.Hour+10*time.Millisecond)}, []string{"a"}, t0.Add(10 * time.Millisecond), []string{"a"}, false},
		{"it ended", []RegionSignal{sig("a", t0.Add(-time.Hour), time.Hour)}, []string{"a"}, t0.Add(wait), nil, true},
		{"sorted", []RegionSignal{sig("b", t0, time.Hour), sig("a", t0, time.Hour)}, []string{"a", "b"}, t0.Add(wait), []string{"a", "b"}, false},
	} {
		next, in, crossed := RegionBoundaries(tc.sigs, t0, wait, tc.last)
		if !next.Equal(tc.next) || !slices.Equal(in, tc.inForce) || crossed != tc.crossed {
			t.Errorf("%s: next %v in force %q crossed %v; want %v %q %v", tc.name, next, in, crossed, tc.next, tc.inForce, tc.crossed)
		}
	}
}

func TestAggregateDue(t *testing.T) {
	for _, tc := range []struct {
		last time.Time
		now  time.Time
		want bool
	}{
		{time.Time{}, t0, true},
		{t0, t0.Add(AggregatePeriod - time.Millisecond), false},
		{t0, t0.Add(AggregatePeriod), true},
	} {
		if got := AggregateDue(tc.last, tc.now); got != tc.want {
			t.Errorf("last %v now %v: %v, want %v", tc.last, tc.now, got, tc.want)
		}
	}
}

func TestNeighborhoodAggregate(t *testing.T) {
	epoch := gridmesh.Epoch{Term: 2, Index: 40}
	h := func(id string, powerW gridmesh.W) HomeState {
		return HomeState{Home: gridmesh.HomeID(id), Battery: gridmesh.Flexibility{PowerW: powerW, MinW: -5000, MaxW: 5000,
			CapacityWh: 10_000, DischargeWh: 4000, ChargeWh: 6000, SoC: 0.4}}
	}
	for _, tc := range []struct {
		name         string
		homes        []HomeState
		appliedW     gridmesh.W
		ok           bool
		upW, downW   gridmesh.W
		upWh, downWh gridmesh.Wh
	}{
		{"no homes", nil, 0, false, 0, 0, 0, 0},
		{"idle", []HomeState{h("a", 0), h("b", 0)}, 0, true, 10_000, 10_000, 8000, 12_000},
		// Discharging 2 kW for the region: measured around the baseline.
		{"busy with its share", []HomeState{h("a", -1000), h("b", -1000)}, 2000, true, 10_000, 10_000, 8000, 12_000},
		{"charging on its own", []HomeState{h("a", 1000)}, 0, true, 6000, 4000, 4000, 6000},
	} {
		a, ok := NeighborhoodAggregate("n1", epoch, t0, tc.homes, tc.appliedW)
		if ok != tc.ok {
			t.Errorf("%s: ok %v", tc.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if a.UpW != tc.upW || a.DownW != tc.downW || a.UpWh != tc.upWh || a.DownWh != tc.downWh ||
			a.Neighborhood != "n1" || a.Epoch != epoch || a.AtMs != t0.UnixMilli() || a.ForS != AggregateForS {
			t.Errorf("%s: %+v", tc.name, a)
		}
	}
}

// withdrawn is the step that withdraws s: the same ID and window, the
// next Seq, nothing asked.
func withdrawn(s gridmesh.Signal) gridmesh.Signal {
	s.Seq++
	s.AmountW = 0
	return s
}
