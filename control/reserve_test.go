package control

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestReserveConfigValidate(t *testing.T) {
	pv := PVModel{LatitudeDeg: 52, PeakW: 10_000}
	for _, tc := range []struct {
		name string
		cfg  ReserveConfig
		ok   bool
	}{
		{"off", ReserveConfig{}, true},
		{"default", DefaultReserveConfig(pv), true},
		{"lookahead beyond a day", ReserveConfig{PeakStartHour: 17, PeakEndHour: 21, Lookahead: 25 * time.Hour, PV: pv, Days: 3}, false},
		{"peak backwards", ReserveConfig{PeakStartHour: 21, PeakEndHour: 17, Lookahead: time.Hour, PV: pv, Days: 3}, false},
		{"peak past midnight", ReserveConfig{PeakStartHour: 17, PeakEndHour: 25, Lookahead: time.Hour, PV: pv, Days: 3}, false},
		{"no days", ReserveConfig{PeakStartHour: 17, PeakEndHour: 21, Lookahead: time.Hour, PV: pv}, false},
		{"more days than kept", ReserveConfig{PeakStartHour: 17, PeakEndHour: 21, Lookahead: time.Hour, PV: pv, Days: MaxHistoryDays + 1}, false},
		{"bad PV", ReserveConfig{PeakStartHour: 17, PeakEndHour: 21, Lookahead: time.Hour, PV: PVModel{LatitudeDeg: 100}, Days: 3}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestNextPeak(t *testing.T) {
	cfg := DefaultReserveConfig(PVModel{}) // 17:00-21:00
	day := time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now   time.Time
		start time.Time
	}{
		{day.Add(14 * time.Hour), day.Add(17 * time.Hour)},
		{day.Add(17*time.Hour - time.Nanosecond), day.Add(17 * time.Hour)},
		{day.Add(17 * time.Hour), day.Add(41 * time.Hour)}, // started: tomorrow's
		{day.Add(23 * time.Hour), day.Add(41 * time.Hour)},
		{time.Date(2026, 1, 12, 15, 0, 0, 0, time.FixedZone("CET", 3600)), day.Add(17 * time.Hour)}, // 14:00 UTC
	} {
		start, end := NextPeak(cfg, tc.now)
		if !start.Equal(tc.start) || end.Sub(start) != 4*time.Hour {
			t.Errorf("at %v: peak %v-%v, want from %v for 4 h", tc.now, start, end, tc.start)
		}
	}
}

func TestForecastHistoryAdd(t *testing.T) {
	at := time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		steps []time.Duration // offsets of the samples offered
		kept  int
	}{
		{"one", []time.Duration{0}, 1},
		{"within a step: dropped", []time.Duration{0, HistoryStep - time.Millisecond}, 1},
		{"a step apart", []time.Duration{0, HistoryStep, 2 * HistoryStep}, 3},
	} {
		var h ForecastHistory
		for _, d := range tc.steps {
			h.Add(at.Add(d), 1, 0)
		}
		if len(h.Load) != tc.kept || len(h.PV) != tc.kept {
			t.Errorf("%s: kept %d/%d, want %d", tc.name, len(h.Load), len(h.PV), tc.kept)
		}
	}
	var h ForecastHistory
	n := MaxHistoryDays * 24 * 4
	for i := range n + 10 {
		h.Add(at.Add(time.Duration(i)*HistoryStep), gridmesh.W(i), 0)
	}
	if len(h.Load) != n || h.Load[0].W != 10 {
		t.Fatalf("history of %d samples from %v, want %d from the 11th", len(h.Load), h.Load[0].W, n)
	}
}

func TestReserveWh(t *testing.T) {
	cfg := DefaultReserveConfig(PVModel{LatitudeDeg: 52, PeakW: 10_000})
	day0 := time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)
	var h ForecastHistory
	for at := day0; at.Before(day0.Add(72 * time.Hour)); at = at.Add(HistoryStep) {
		load := gridmesh.W(500)
		if hr := at.Hour(); hr >= 17 && hr < 21 {
			load = 3000
		}
		h.Add(at, load, 0)
	}
	peak := 3000 * 4 / math.Sqrt(0.9) // 4 h at 3 kW, after discharge losses
	for _, tc := range []struct {
		name          string
		h             *ForecastHistory
		at            time.Duration // after the history
		maxDischargeW gridmesh.W
		want          float64
		err           error
	}{
		{"3 h before the peak", &h, 14 * time.Hour, 20_000, peak, nil},
		{"9 h before: beyond the lookahead", &h, 8 * time.Hour, 20_000, 0, ErrNoPeakAhead},
		{"no history", &ForecastHistory{}, 14 * time.Hour, 20_000, 0, ErrNoPeakAhead},
	} {
		r, err := tc.h.ReserveWh(cfg, day0.Add(72*time.Hour+tc.at), tc.maxDischargeW)
		if !errors.Is(err, tc.err) || math.Abs(float64(r)-tc.want) > 0.05*tc.want {
			t.Errorf("%s: %v Wh err %v, want about %v err %v", tc.name, r, err, tc.want, tc.err)
		}
	}
}

func TestHoldReserve(t *testing.T) {
	a := HomeState{Home: "a", Battery: gridmesh.Flexibility{PowerW: -1000, MinW: -5000, MaxW: 5000, CapacityWh: 10_000, DischargeWh: 2_000}}
	b := HomeState{Home: "b", Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, CapacityWh: 30_000, DischargeWh: 20_000}}
	none := HomeState{Home: "c"}
	for _, tc := range []struct {
		name      string
		homes     []HomeState
		reserveWh gridmesh.Wh
		minW      []gridmesh.W
		powerW    []gridmesh.W
		heldWh    []gridmesh.Wh
	}{
		// Shares 3 and 9 kWh: a holds less than its share and may not discharge.
		{"by capacity", []HomeState{a, b}, 12_000, []gridmesh.W{0, -5000}, []gridmesh.W{0, 0}, []gridmesh.Wh{0, 11_000}},
		{"no reserve", []HomeState{a, b}, 0, []gridmesh.W{-5000, -5000}, []gridmesh.W{-1000, 0}, []gridmesh.Wh{2000, 20_000}},
		{"NaN reserve", []HomeState{a}, gridmesh.Wh(math.NaN()), []gridmesh.W{-5000}, []gridmesh.W{-1000}, []gridmesh.Wh{2000}},
		{"more than the capacity: everything", []HomeState{a, b}, 100_000, []gridmesh.W{0, 0}, []gridmesh.W{0, 0}, []gridmesh.Wh{0, 0}},
		{"no capacity", []HomeState{none}, 1000, []gridmesh.W{0}, []gridmesh.W{0}, []gridmesh.Wh{0}},
	} {
		in := append([]HomeState(nil), tc.homes...)
		out := HoldReserve(tc.homes, tc.reserveWh)
		for i, h := range out {
			if h.Battery.MinW != tc.minW[i] || h.Battery.PowerW != tc.powerW[i] || h.Battery.DischargeWh != tc.heldWh[i] {
				t.Errorf("%s: %s %+v", tc.name, h.Home, h.Battery)
			}
		}
		for i := range in {
			if in[i] != tc.homes[i] {
				t.Errorf("%s: input modified", tc.name)
			}
		}
	}
}

func TestNeighborhoodSample(t *testing.T) {
	reports := []gridmesh.Telemetry{
		{Home: "a", BaseW: -500, Battery: gridmesh.Flexibility{MinW: -5000}, Loads: &gridmesh.HomeLoads{PVW: 2000}},
		{Home: "b", BaseW: 800, Battery: gridmesh.Flexibility{MinW: -3000}},
	}
	load, pv, maxDischarge := NeighborhoodSample(reports)
	if load != 1500+800 || pv != 2000 || maxDischarge != 8000 {
		t.Fatalf("load %v pv %v discharge %v", load, pv, maxDischarge)
	}
}

func TestReserve(t *testing.T) {
	cfg := DefaultReserveConfig(PVModel{LatitudeDeg: 52, PeakW: 10_000})
	homes := []HomeState{{Home: "a", Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, CapacityWh: 10_000, DischargeWh: 5000}}}
	reports := []gridmesh.Telemetry{{Home: "a", BaseW: 3000, Battery: homes[0].Battery}}
	at := time.Date(2026, 1, 12, 14, 0, 0, 0, time.UTC)

	var off ForecastHistory
	if got := Reserve(ReserveConfig{}, &off, at, reports, homes); got[0] != homes[0] || len(off.Load) != 0 {
		t.Fatal("a reserve held or history kept while off")
	}
	var h ForecastHistory
	if got := Reserve(cfg, &h, at.Add(-8*time.Hour), reports, homes); got[0] != homes[0] || len(h.Load) != 1 {
		t.Fatalf("outside the lookahead: %+v, %d samples", got[0], len(h.Load))
	}
	got := Reserve(cfg, &h, at, reports, homes)
	if len(h.Load) != 2 || got[0].Battery.DischargeWh >= homes[0].Battery.DischargeWh {
		t.Fatalf("ahead of the peak: %+v, %d samples", got[0].Battery, len(h.Load))
	}
}
