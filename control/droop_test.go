package control

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestDroop(t *testing.T) {
	cfg := DefaultDroopConfig()
	b := gridmesh.Flexibility{MinW: -5_000, MaxW: 4_000, SoC: 0.5}
	// The slope is 1/(0.5-0.015) = 1/0.485 of the range per Hz beyond the
	// deadband.
	tests := []struct {
		name string
		hz   float64
		b    gridmesh.Flexibility
		want gridmesh.W
	}{
		{"nominal", 50, b, 0},
		{"inside the deadband, low", 49.99, b, 0},
		{"inside the deadband, high", 50.01, b, 0},
		{"at the deadband's edge", 49.985, b, 0},
		{"low: (0.25-0.015)/0.485 of 5 kW", 49.75, b, -5_000 * 0.235 / 0.485},
		{"high: half way is half of 4 kW", 50.2575, b, 2_000},
		{"full low at 49.5", 49.5, b, -5_000},
		{"full high at 50.5", 50.5, b, 4_000},
		{"saturated low", 48.8, b, -5_000},
		{"saturated high", 51.2, b, 4_000},
		{"empty battery cannot discharge", 49.2, gridmesh.Flexibility{MinW: 0, MaxW: 4_000}, 0},
		{"full battery cannot charge", 50.8, gridmesh.Flexibility{MinW: -5_000, MaxW: 0}, 0},
		{"empty battery still charges", 50.8, gridmesh.Flexibility{MinW: 0, MaxW: 4_000}, 4_000},
		{"not measured (0 Hz)", 0, b, 0},
		{"implausibly low", 44.99, b, 0},
		{"implausibly high", 55.01, b, 0},
		{"NaN", math.NaN(), b, 0},
		{"+Inf", math.Inf(1), b, 0},
		{"-Inf", math.Inf(-1), b, 0},
		{"NaN battery", 49, gridmesh.Flexibility{MinW: gridmesh.W(math.NaN()), MaxW: 4_000}, 0},
		{"infinite battery", 49, gridmesh.Flexibility{MinW: gridmesh.W(math.Inf(-1)), MaxW: 4_000}, 0},
		{"battery range without 0", 49, gridmesh.Flexibility{MinW: 100, MaxW: 4_000}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Droop(cfg, tt.hz, tt.b); math.Abs(float64(got-tt.want)) > 1e-9 {
				t.Errorf("Droop(%v Hz) = %v, want %v", tt.hz, float64(got), float64(tt.want))
			}
		})
	}
}

func TestDroop60Hz(t *testing.T) {
	cfg := DroopConfig{NominalHz: 60, DeadbandHz: 0.036, FullAtHz: 0.5} // NERC-style deadband
	b := gridmesh.Flexibility{MinW: -2_000, MaxW: 2_000}
	if got := Droop(cfg, 59.5, b); got != -2_000 {
		t.Errorf("59.5 Hz: %v", got)
	}
	if got := Droop(cfg, 50, b); got != 0 { // a 50 Hz reading on a 60 Hz grid is a fault
		t.Errorf("50 Hz on a 60 Hz grid: %v", got)
	}
}

func TestDroopConfigValidate(t *testing.T) {
	if err := DefaultDroopConfig().Validate(); err != nil {
		t.Fatalf("default refused: %v", err)
	}
	b := gridmesh.Flexibility{MinW: -5_000, MaxW: 5_000}
	for name, cfg := range map[string]DroopConfig{
		"zero":                 {},
		"negative nominal":     {NominalHz: -50, DeadbandHz: 0.01, FullAtHz: 0.5},
		"NaN nominal":          {NominalHz: math.NaN(), DeadbandHz: 0.01, FullAtHz: 0.5},
		"negative deadband":    {NominalHz: 50, DeadbandHz: -0.01, FullAtHz: 0.5},
		"full inside deadband": {NominalHz: 50, DeadbandHz: 0.5, FullAtHz: 0.2},
		"full at the deadband": {NominalHz: 50, DeadbandHz: 0.2, FullAtHz: 0.2},
		"full beyond 10%":      {NominalHz: 50, DeadbandHz: 0.01, FullAtHz: 6},
		"infinite full":        {NominalHz: 50, DeadbandHz: 0.01, FullAtHz: math.Inf(1)},
	} {
		if err := cfg.Validate(); !errors.Is(err, ErrBadDroopConfig) {
			t.Errorf("%s: Validate = %v, want ErrBadDroopConfig", name, err)
		}
		if got := Droop(cfg, 49, b); got != 0 {
			t.Errorf("%s: Droop with a bad config = %v, want 0", name, got)
		}
	}
	if err := (DroopConfig{NominalHz: 50, FullAtHz: 0.2}).Validate(); err != nil {
		t.Errorf("no deadband refused: %v", err)
	}
}

// TestDroopProperties draws curves, batteries and frequencies: the
// response stays in the battery's range, has the sign of the deviation,
// grows with the deviation, and is zero inside the deadband and full
// beyond FullAtHz.
func TestDroopProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range 20_000 {
		nominal := []float64{50, 60}[rng.IntN(2)]
		deadband := rng.Float64() * 0.1
		cfg := DroopConfig{NominalHz: nominal, DeadbandHz: deadband, FullAtHz: deadband + 0.01 + rng.Float64()*2}
		b := gridmesh.Flexibility{MinW: -gridmesh.W(rng.Float64() * 10_000), MaxW: gridmesh.W(rng.Float64() * 10_000)}
		f1 := nominal + (rng.Float64()*2-1)*nominal*0.12
		f2 := nominal + (rng.Float64()*2-1)*nominal*0.12
		if f1 > f2 {
			f1, f2 = f2, f1
		}
		r1, r2 := Droop(cfg, f1, b), Droop(cfg, f2, b)
		plausible := func(f float64) bool { return math.Abs(f-nominal) <= 0.1*nominal }
		for _, c := range []struct {
			f float64
			r gridmesh.W
		}{{f1, r1}, {f2, r2}} {
			dev := math.Abs(c.f - nominal)
			switch {
			case !c.r.Finite() || c.r < b.MinW || c.r > b.MaxW:
				t.Fatalf("seed %d iter %d: %v Hz → %v outside [%v, %v]", seed, i, c.f, c.r, b.MinW, b.MaxW)
			case c.f < nominal && c.r > 0 || c.f > nominal && c.r < 0:
				t.Fatalf("seed %d iter %d: %v Hz → %v: wrong sign", seed, i, c.f, c.r)
			case !plausible(c.f) && c.r != 0:
				t.Fatalf("seed %d iter %d: implausible %v Hz → %v", seed, i, c.f, c.r)
			case dev <= cfg.DeadbandHz && c.r != 0:
				t.Fatalf("seed %d iter %d: %v Hz inside the deadband → %v", seed, i, c.f, c.r)
			case plausible(c.f) && dev >= cfg.FullAtHz && c.r != b.MinW && c.r != b.MaxW:
				t.Fatalf("seed %d iter %d: %v Hz beyond full → %v, not a limit", seed, i, c.f, c.r)
			}
		}
		if plausible(f1) && plausible(f2) && r1 > r2 {
			t.Fatalf("seed %d iter %d: not monotone: %v Hz → %v, %v Hz → %v", seed, i, f1, r1, f2, r2)
		}
	}
}

func TestVoltWatt(t *testing.T) {
	cfg := DefaultVoltWattConfig()
	b := gridmesh.Flexibility{MinW: -3_000, MaxW: 3_000}
	for _, c := range []struct {
		v    float64
		want gridmesh.W
	}{
		{230, 0}, {238, 0}, {222, 0},
		{246.5, 1_500}, // (16.5-10)/13 = 1/2
		{253, 3_000}, {260, 3_000},
		{213.5, -1_500}, {207, -3_000}, {180, -3_000},
		{0, 0},   // not measured
		{150, 0}, // a fault, not a sag to answer
		{math.NaN(), 0},
		{math.Inf(-1), 0},
		{230 * 1.3, 3_000},  // at the edge of plausibility
		{230*1.3 + 0.01, 0}, // beyond it
	} {
		if got := VoltWatt(cfg, c.v, b); math.Abs(float64(got-c.want)) > 1e-9 {
			t.Errorf("VoltWatt(%v V) = %v, want %v", c.v, float64(got), float64(c.want))
		}
	}
	if err := (VoltWattConfig{NominalV: 230, DeadbandV: 10, FullAtV: 80}).Validate(); !errors.Is(err, ErrBadDroopConfig) {
		t.Errorf("full beyond 30%%: %v", err)
	}
}
