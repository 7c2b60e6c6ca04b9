package testnet

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

const tick = 100 * time.Millisecond

// homeDroopPU is the homes' droop (control.DefaultDroopConfig: a
// battery's whole range at 0.5 Hz beyond a 15 mHz deadband), per unit of
// the feeder rating per unit frequency, as the feeder model sees it.
func homeDroop(x float64, availW gridmesh.W, ratingW gridmesh.W) gridmesh.W {
	dev := x * nominalHz
	f := min(max((math.Abs(dev)-0.015)/(0.5-0.015), 0), 1)
	if dev < 0 {
		return -gridmesh.W(f) * availW // discharge: less net import
	}
	return gridmesh.W(f) * availW
}

// An island with no plan: homes hold their own balance (self-consumption)
// but for a disturbance (a load step that no home's loop has seen yet),
// and answer the frequency with droop on the next tick, reading a meter
// one tick old. The frequency settles (no growing oscillation) inside the
// trip band, for any disturbance the batteries can cover.
func TestIslandWithoutPlanSettles(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	for trial := range 200 {
		homes := 2 + rng.IntN(20)
		rating := gridmesh.W(homes) * 5000
		// a disturbance of up to 90 % of what the batteries can give
		dist := gridmesh.W((2*rng.Float64() - 1) * 0.9 * float64(rating))
		s := feederSample{canDischargeW: rating, canChargeW: rating}
		x, prevX := 0.0, 0.0
		var peak float64
		for step := range 600 {
			// the homes' droop, from the frequency read a tick ago
			s.netW = dist + homeDroop(prevX, rating, rating)
			prevX = x
			x = swingStep(x, s, rating, tick)
			hz := nominalHz * (1 + x)
			if hz < tripLowHz || hz > tripHighHz {
				t.Fatalf("trial %d: %d homes, disturbance %v: %v Hz out of band at step %d", trial, homes, dist, hz, step)
			}
			if step >= 500 {
				peak = max(peak, math.Abs(x-prevX))
			}
		}
		if peak > 1e-6 {
			t.Fatalf("trial %d: %d homes, disturbance %v: still moving %v pu a tick after 50 s", trial, homes, dist, peak)
		}
	}
}

// With no battery able to discharge, a deficit takes the frequency out of
// band within seconds and the feeder blacks out after tripAfter; it comes
// back after blackStartAfter only if its batteries hold energy.
func TestFeederBlacksOutWithoutEnergy(t *testing.T) {
	f := newFeeder(nil)
	f.ratingW, f.islanded = 50_000, true
	real0 := time.Unix(0, 0)
	sim0 := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	f.lastReal = real0
	s := feederSample{netW: 10_000, loadW: 10_000, canDischargeW: 0, canChargeW: 50_000, capacityW: 100_000, storedWh: 0}
	var darkAfter time.Duration
	for i := 1; i <= 200; i++ {
		now := real0.Add(time.Duration(i) * tick)
		if f.stepSample(now, sim0.Add(time.Duration(i)*time.Minute), s) {
			darkAfter = time.Duration(i) * tick
			break
		}
	}
	if darkAfter == 0 || darkAfter > 10*time.Second {
		t.Fatalf("dark after %v, want within 10 s", darkAfter)
	}
	if g := f.grid(); g.Up || g.VoltageV != 0 || g.FrequencyHz != 0 {
		t.Fatalf("dark feeder reads %+v", g)
	}
	// Empty batteries: no black start, however long.
	f.stepSample(real0.Add(time.Hour), sim0.Add(48*time.Hour), s)
	if !f.dark {
		t.Fatal("black start with empty batteries")
	}
	s.storedWh = 50_000
	f.stepSample(real0.Add(2*time.Hour), sim0.Add(49*time.Hour), s)
	if f.dark || f.grid().FrequencyHz != nominalHz {
		t.Fatalf("no black start with half-full batteries: %+v", f.grid())
	}
	if f.blackouts != 1 || len(f.blackoutStored) != 1 || f.blackoutStored[0] != 0 {
		t.Fatalf("blackouts %d at %v", f.blackouts, f.blackoutStored)
	}
}

// The loads' own relief below 50 Hz is in proportion to the load, not to
// the inverters' rating: an island whose batteries are empty holds only a
// deficit under 5 % of its load (1 pu/pu down to 47.5 Hz). One home's
// night-time critical load, 200 W against a 5 kW inverter, takes it dark
// (scaled by the rating the relief held it at 48 Hz); a sliver of deficit
// does not.
func TestEmptyIslandHeldOnlyByItsLoadsRelief(t *testing.T) {
	for _, tt := range []struct {
		name         string
		ratingW      gridmesh.W
		loadW, pvW   gridmesh.W
		wantBlackout bool
	}{
		{"one home, 200 W critical, no PV", 5_000, 200, 0, true},
		{"15 homes, 3 kW critical, no PV", 75_000, 3_000, 0, true},
		{"one home, PV 3 % short of its load", 5_000, 1_000, 970, false},
		{"one home, PV 10 % short of its load", 5_000, 1_000, 900, true},
	} {
		f := newFeeder(nil)
		f.ratingW, f.islanded = tt.ratingW, true
		real0 := time.Unix(0, 0)
		f.lastReal = real0
		s := feederSample{netW: tt.loadW - tt.pvW, pvW: tt.pvW, loadW: tt.loadW, canChargeW: tt.ratingW, capacityW: 10_000}
		out := false
		for i := 1; i <= 1200 && !out; i++ {
			out = f.stepSample(real0.Add(time.Duration(i)*tick), time.Unix(int64(i), 0), s)
		}
		if out != tt.wantBlackout {
			t.Errorf("%s: blackout %v within 2 min, want %v (at %.2f Hz)", tt.name, out, tt.wantBlackout, f.frequencyHz())
		}
	}
}

// A surplus with full batteries raises the frequency until LFSM-O sheds
// PV: it settles under 51.2 Hz, inside the band, with no blackout.
func TestSurplusSettlesOnLFSM(t *testing.T) {
	rating := gridmesh.W(50_000)
	s := feederSample{netW: -20_000, pvW: 30_000, canDischargeW: rating, canChargeW: 0}
	x := 0.0
	for range 1000 {
		x = swingStep(x, s, rating, tick)
	}
	hz := nominalHz * (1 + x)
	if hz <= lfsmStartHz || hz >= lfsmFullHz {
		t.Fatalf("settled at %v Hz, want within LFSM-O's (%v, %v)", hz, lfsmStartHz, lfsmFullHz)
	}
}

// A dark feeder with empty batteries black-starts on PV once its PV
// carries the critical load with margin now and over the next hour, and
// not at dusk.
func TestFeederBlackStartsOnPV(t *testing.T) {
	dark := feederSample{capacityW: 100_000, criticalW: 2_000, criticalNextWh: 2_000}
	for _, tt := range []struct {
		name      string
		pvW       gridmesh.W
		pvNextWh  gridmesh.Wh
		storedWh  gridmesh.Wh
		capacityW gridmesh.Wh
		want      bool
	}{
		{"noon", 6_000, 6_000, 0, 100_000, true},
		{"just enough", 3_000, 3_000, 0, 100_000, true},
		{"dusk: PV now, little left in the hour", 3_500, 1_000, 0, 100_000, false},
		{"dawn: too little now", 2_000, 8_000, 0, 100_000, false},
		{"night, 5 % stored", 0, 0, 5_000, 100_000, true},
		{"night, 4 % stored", 0, 0, 4_000, 100_000, false},
		{"no battery to form the grid", 6_000, 6_000, 0, 0, false},
	} {
		s := dark
		s.pvAvailW, s.pvNextWh, s.storedWh, s.capacityW = tt.pvW, tt.pvNextWh, tt.storedWh, tt.capacityW
		if got := canBlackStart(s); got != tt.want {
			t.Errorf("%s: black start %v, want %v", tt.name, got, tt.want)
		}
	}
	f := newFeeder(nil)
	f.ratingW, f.islanded, f.dark = 50_000, true, true
	sim0 := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	f.darkAt = sim0
	s := dark
	s.pvAvailW, s.pvNextWh = 6_000, 6_000
	f.stepSample(time.Unix(1, 0), sim0.Add(blackStartAfter/2), s)
	if !f.dark {
		t.Fatal("black start before protection reset")
	}
	f.stepSample(time.Unix(2, 0), sim0.Add(blackStartAfter), s)
	if f.dark || f.blackStarts != 1 {
		t.Fatalf("no black start on PV at noon: dark %v, black starts %d", f.dark, f.blackStarts)
	}
}
