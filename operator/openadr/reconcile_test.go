package openadr

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestReconcile(t *testing.T) {
	in := Intent{SignalID: "oadr-e1-0", EventID: "e1", Start: t0, End: t0.Add(10 * time.Minute), AmountW: 40_000}
	sent := gridmesh.Signal{ID: in.SignalID, Kind: gridmesh.SignalCutImport, StartMs: t0.UnixMilli(), EndMs: t0.Add(10 * time.Minute).UnixMilli(), AmountW: 40_000, Seq: 7}
	changed := in
	changed.AmountW = 50_000
	later := in
	later.SignalID, later.Start, later.End = "far", t0.Add(49*time.Hour), t0.Add(50*time.Hour)
	withdrawnStep := sent
	withdrawnStep.AmountW = 0
	for _, tc := range []struct {
		name              string
		intents           []Intent
		published         map[string]gridmesh.Signal
		now               time.Time
		publish, withdraw []gridmesh.W // amounts, in ID order
	}{
		{"new: published", []Intent{in}, nil, t0.Add(-time.Minute), []gridmesh.W{40_000}, nil},
		{"unchanged: nothing", []Intent{in}, map[string]gridmesh.Signal{in.SignalID: sent}, t0, nil, nil},
		{"modified: a new step", []Intent{changed}, map[string]gridmesh.Signal{in.SignalID: sent}, t0, []gridmesh.W{50_000}, nil},
		{"cancelled: withdrawn by a step of zero", nil, map[string]gridmesh.Signal{in.SignalID: sent}, t0.Add(time.Minute), nil, []gridmesh.W{0}},
		{"cancelled after its end: nothing", nil, map[string]gridmesh.Signal{in.SignalID: sent}, t0.Add(10 * time.Minute), nil, nil},
		{"already withdrawn: nothing", nil, map[string]gridmesh.Signal{in.SignalID: withdrawnStep}, t0, nil, nil},
		{"more than 48 h ahead: waits", []Intent{later}, nil, t0, nil, nil},
	} {
		st := Reconcile(tc.intents, tc.published, tc.now)
		if !amounts(st.Publish, tc.publish) || !amounts(st.Withdraw, tc.withdraw) {
			t.Errorf("%s: publish %+v withdraw %+v; want amounts %v and %v", tc.name, st.Publish, st.Withdraw, tc.publish, tc.withdraw)
		}
		for _, w := range st.Withdraw {
			if w.StartMs != sent.StartMs || w.EndMs != sent.EndMs || w.ID != sent.ID || w.Seq != 0 || w.Signature != nil {
				t.Errorf("%s: withdrawal %+v must keep the ID and window, unsigned", tc.name, w)
			}
			w.Version, w.Region = gridmesh.WireVersion, "r"
			if err := w.Validate(); err != nil {
				t.Errorf("%s: withdrawal does not validate: %v", tc.name, err)
			}
		}
	}
}

func amounts(ss []gridmesh.Signal, want []gridmesh.W) bool {
	if len(ss) != len(want) {
		return false
	}
	for i := range ss {
		if ss[i].AmountW != want[i] {
			return false
		}
	}
	return true
}

func TestPrune(t *testing.T) {
	p := map[string]gridmesh.Signal{"a": {EndMs: t0.UnixMilli()}, "b": {EndMs: t0.Add(time.Second).UnixMilli()}}
	Prune(p, t0)
	if _, ok := p["a"]; ok || len(p) != 1 {
		t.Fatalf("Prune left %v: want only b", p)
	}
}
