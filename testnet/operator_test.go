package testnet

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// Steps are ordered by Seq; a home that skipped a Seq (it applied a newer
// one first) counts as having reached it then; AllUnixMs waits for every
// home live at the end and stays 0 while one is missing.
func TestTargetStepsReport(t *testing.T) {
	t0 := time.UnixMilli(1_000_000)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	s := newTargetSteps()
	const nb = gridmesh.NeighborhoodID("n0")
	s.planApplied("a", nb, gridmesh.Target{Seq: 1, ImportW: 900}, at(0))
	s.planApplied("b", nb, gridmesh.Target{Seq: 1, ImportW: 900}, at(5))
	s.planApplied("a", nb, gridmesh.Target{Seq: 41, ImportW: 400}, at(1000))
	s.planApplied("a", nb, gridmesh.Target{Seq: 41, ImportW: 380}, at(2000)) // drift under one Seq
	s.planApplied("b", nb, gridmesh.Target{Seq: 43, ImportW: 900}, at(1500)) // b skipped 41
	s.planApplied("c", nb, gridmesh.Target{Seq: 1, ImportW: 900}, at(8))
	got := s.report(nb, 900, []gridmesh.HomeID{"a", "b"})
	want := []TargetStep{
		{Seq: 1, ImportW: 900, OffsetW: 0, FirstUnixMs: at(0).UnixMilli(), AllUnixMs: at(5).UnixMilli(), Homes: 3},
		{Seq: 41, ImportW: 400, OffsetW: 500, FirstUnixMs: at(1000).UnixMilli(), AllUnixMs: at(1500).UnixMilli(), Homes: 2},
		{Seq: 43, ImportW: 900, OffsetW: 0, FirstUnixMs: at(1500).UnixMilli(), AllUnixMs: 0, Homes: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d steps %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	var none *targetSteps
	none.planApplied("a", nb, gridmesh.Target{Seq: 1}, t0)
	if none.report(nb, 0, nil) != nil || none.newest(nb) != 0 {
		t.Error("a run without an outside operator records steps")
	}
}
