package control_test

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

var warnNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func warning(id string, seq uint64, start, end time.Duration, amount gridmesh.W) control.RegionSignal {
	return control.RegionSignal{At: warnNow, Signal: gridmesh.Signal{
		ID: id, Kind: gridmesh.SignalOutageWarning, Seq: seq, AmountW: amount,
		StartMs: warnNow.Add(start).UnixMilli(), EndMs: warnNow.Add(end).UnixMilli(),
	}}
}

func TestOutageWarned(t *testing.T) {
	cut := warning("dr", 1, -time.Hour, 10*time.Hour, 5000)
	cut.Signal.Kind = gridmesh.SignalCutImport
	for name, tc := range map[string]struct {
		signals []control.RegionSignal
		wantID  string // "" for none
	}{
		"none":                        {nil, ""},
		"ahead of its start":          {[]control.RegionSignal{warning("storm", 1, 6*time.Hour, 30*time.Hour, 1)}, "storm"},
		"in its window":               {[]control.RegionSignal{warning("storm", 1, -time.Hour, 23*time.Hour, 1)}, "storm"},
		"ended":                       {[]control.RegionSignal{warning("storm", 1, -3*time.Hour, -time.Hour, 1)}, ""},
		"withdrawn by a newer zero":   {[]control.RegionSignal{warning("storm", 1, time.Hour, 5*time.Hour, 1), warning("storm", 2, time.Hour, 5*time.Hour, 0)}, ""},
		"an older zero does not":      {[]control.RegionSignal{warning("storm", 2, time.Hour, 5*time.Hour, 1), warning("storm", 1, time.Hour, 5*time.Hour, 0)}, "storm"},
		"a cut is no warning":         {[]control.RegionSignal{cut}, ""},
		"of two, the one ending last": {[]control.RegionSignal{warning("a", 1, time.Hour, 5*time.Hour, 1), warning("b", 1, 2*time.Hour, 9*time.Hour, 1)}, "b"},
	} {
		t.Run(name, func(t *testing.T) {
			w, ok := control.OutageWarned(control.RegionView{Signals: tc.signals}, warnNow)
			if got := map[bool]string{true: w.ID}[ok]; got != tc.wantID {
				t.Errorf("warned %q (ok %v), want %q", w.ID, ok, tc.wantID)
			}
		})
	}
}

// A standing warning keeps every battery's energy: none may discharge,
// all may charge; without one nothing changes.
func TestWarningReserve(t *testing.T) {
	homes := []control.HomeState{
		{Home: "a", Battery: gridmesh.Flexibility{MinW: -3000, MaxW: 3000, CapacityWh: 10_000, DischargeWh: 6000, ChargeWh: 4000, PowerW: -1000}},
		{Home: "b", Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, CapacityWh: 13_500, DischargeWh: 1000, ChargeWh: 12_000}},
	}
	if got := control.WarningReserve(false, homes); &got[0] != &homes[0] {
		t.Error("without a warning the homes changed")
	}
	got := control.WarningReserve(true, homes)
	for i, h := range got {
		b := h.Battery
		if b.MinW != 0 || b.DischargeWh != 0 || b.PowerW < 0 {
			t.Errorf("%s: may still discharge: %+v", h.Home, b)
		}
		if b.MaxW != homes[i].Battery.MaxW || b.ChargeWh != homes[i].Battery.ChargeWh {
			t.Errorf("%s: charging changed: %+v, was %+v", h.Home, b, homes[i].Battery)
		}
	}
	if homes[0].Battery.MinW != -3000 {
		t.Error("the input was modified")
	}
}

func TestWarnedHorizon(t *testing.T) {
	w := warning("storm", 1, -2*time.Hour, 22*time.Hour, 1).Signal
	for name, tc := range map[string]struct {
		ok   bool
		now  time.Time
		rate float64
		want time.Duration
	}{
		"no warning: the default":        {false, warnNow, 1, control.DefaultRationHorizon},
		"what remains of the window":     {true, warnNow, 1, 22 * time.Hour},
		"in device time at 600×":         {true, warnNow.Add(22*time.Hour - time.Minute), 600, 10 * time.Hour},
		"at its very end: one step":      {true, warnNow.Add(22*time.Hour - time.Second), 1, control.DefaultRationConfig().Step},
		"ended: the default":             {true, warnNow.Add(23 * time.Hour), 1, control.DefaultRationHorizon},
		"a rate that makes no sense: 1×": {true, warnNow, -3, 22 * time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			if got := control.WarnedHorizon(w, tc.ok, tc.now, tc.rate); got != tc.want {
				t.Errorf("horizon %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDeviceRate(t *testing.T) {
	for name, tc := range map[string]struct {
		dw, dd time.Duration
		want   float64
	}{
		"real time":              {time.Minute, time.Minute, 1},
		"600×":                   {10 * time.Second, 100 * time.Minute, 600},
		"too soon to tell":       {500 * time.Millisecond, 5 * time.Minute, 1},
		"device clock went back": {time.Minute, -time.Minute, 1},
	} {
		if got := control.DeviceRate(warnNow, warnNow, warnNow.Add(tc.dw), warnNow.Add(tc.dd)); got != tc.want {
			t.Errorf("%s: rate %v, want %v", name, got, tc.want)
		}
	}
}

// A warning asks no power: a region's decision leaves it out.
func TestWarningAsksNoPower(t *testing.T) {
	v := control.RegionView{
		Signals:    []control.RegionSignal{warning("storm", 1, -time.Hour, 20*time.Hour, 5000)},
		Aggregates: []gridmesh.Aggregate{{Neighborhood: "n0", AtMs: warnNow.UnixMilli(), UpW: 10_000, DownW: 10_000, UpWh: 50_000, DownWh: 50_000}},
	}
	d := control.DecideRegion(v, "n0", warnNow)
	if d.OffsetW != 0 || len(d.Signals) != 0 || d.Seq != 0 {
		t.Errorf("decision on a warning: %+v", d)
	}
}

// While a warning stands the target rises to what charges every battery
// at its most on top of the base loads (never falls), and Dispatch then
// charges every battery at its most; without one it is unchanged.
func TestWarningTarget(t *testing.T) {
	homes := []control.HomeState{
		{Home: "a", BaseW: 2000, Battery: gridmesh.Flexibility{MinW: -3000, MaxW: 3000, CapacityWh: 10_000, DischargeWh: 6000, ChargeWh: 4000}},
		{Home: "b", BaseW: 500, Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 0, CapacityWh: 13_500, DischargeWh: 13_500}}, // full
		{Home: "c", BaseW: 1500, Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, CapacityWh: 13_500, DischargeWh: 1000, ChargeWh: 12_000}},
	}
	asked := gridmesh.Target{Seq: 7, ImportW: 3000}
	for name, tc := range map[string]struct {
		ok     bool
		target gridmesh.Target
		want   gridmesh.W
	}{
		"no warning: as asked":             {false, asked, 3000},
		"warned: base and every charge":    {true, asked, 2000 + 3000 + 500 + 1500 + 5000},
		"warned, asked for more: as asked": {true, gridmesh.Target{Seq: 7, ImportW: 50_000}, 50_000},
	} {
		t.Run(name, func(t *testing.T) {
			got := control.WarningTarget(tc.target, tc.ok, control.WarningReserve(tc.ok, homes))
			if got.ImportW != tc.want || got.Seq != tc.target.Seq {
				t.Fatalf("target %+v, want import %v at Seq %d", got, tc.want, tc.target.Seq)
			}
			if !tc.ok || tc.want != 12_000 {
				return
			}
			res := control.Dispatch(got, control.WarningReserve(true, homes))
			for i, sp := range res.Setpoints {
				if want := homes[i].BaseW + homes[i].Battery.MaxW; sp.NetW != want {
					t.Errorf("%s: net %v, want %v (its battery charging at its most)", sp.Home, sp.NetW, want)
				}
			}
		})
	}
}
