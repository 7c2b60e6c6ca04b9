package sim

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

var testLoad = LoadParams{BaseW: 250, MorningPeakW: 500, EveningPeakW: 1_200, Seed: 42}

// TestLoadPure reads the same instants forwards, backwards and again: a
// pure load gives the same watts each time, never negative.
func TestLoadPure(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	const n = 2 * 24 * 60 * 6 // two days at 10 s
	first := make([]gridmesh.W, n)
	for i := range n {
		first[i] = testLoad.PowerAt(start.Add(time.Duration(i) * 10 * time.Second))
	}
	for i := n - 1; i >= 0; i-- {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		if got := testLoad.PowerAt(at); got != first[i] || got < 0 || !got.Finite() {
			t.Fatalf("PowerAt(%v) = %v, earlier %v", at, got, first[i])
		}
	}
}

func TestLoadShape(t *testing.T) {
	for seed := range uint64(20) {
		p := testLoad
		p.Seed = seed
		day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		var energyWh, nightMax, eveningMax float64
		events := 0
		for m := range 24 * 60 {
			at := day.Add(time.Duration(m) * time.Minute)
			w := p.PowerAt(at)
			if w < p.BaseW*0.999 {
				t.Fatalf("seed %d: %v at %v, below base %v", seed, w, at, p.BaseW)
			}
			energyWh += float64(w) / 60
			if extra := w - p.profileAt(hourOfDay(at)); extra >= applianceMinW {
				events++
			}
			profile := float64(p.profileAt(hourOfDay(at)))
			if h := at.Hour(); h >= 2 && h < 4 {
				nightMax = max(nightMax, profile)
			} else if h >= 18 && h < 21 {
				eveningMax = max(eveningMax, profile)
			}
		}
		if events == 0 {
			t.Errorf("seed %d: no appliance event in a day", seed)
		}
		if eveningMax < float64(p.BaseW+p.EveningPeakW/2) || nightMax > float64(p.BaseW+(p.MorningPeakW+p.EveningPeakW)/5) {
			t.Errorf("seed %d: night profile up to %v W, evening up to %v W", seed, nightMax, eveningMax)
		}
		if energyWh < 6_000 || energyWh > 20_000 {
			t.Errorf("seed %d: %v Wh a day, want a household's 6-20 kWh", seed, energyWh)
		}
	}
}

func TestLoadSeedsDiffer(t *testing.T) {
	a, b := testLoad, testLoad
	b.Seed++
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	same := 0
	for m := range 24 * 60 {
		at := day.Add(time.Duration(m) * time.Minute)
		if a.PowerAt(at) == b.PowerAt(at) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds %d and %d agree on %d minutes of a day", a.Seed, b.Seed, same)
	}
}

// TestLoadBeforeEpoch checks that slot arithmetic holds before 1970.
func TestLoadBeforeEpoch(t *testing.T) {
	start := time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)
	for s := range 2 * 3600 {
		at := start.Add(time.Duration(s) * time.Second)
		if w := testLoad.PowerAt(at); w < testLoad.BaseW*0.999 || w > 10_000 {
			t.Fatalf("PowerAt(%v) = %v", at, w)
		}
	}
}

func TestLoadParamsValidate(t *testing.T) {
	if err := testLoad.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []LoadParams{
		{BaseW: -1},
		{EveningPeakW: gridmesh.W(math.NaN())},
		{MorningPeakW: gridmesh.W(math.Inf(1))},
		{BaseW: 2 * gridmesh.MaxHomePowerW},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v validated", p)
		}
	}
}

func TestLoadState(t *testing.T) {
	p := testLoad
	p.SheddableShare = 0.3
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for m := range 24 * 60 {
		at := start.Add(time.Duration(m) * time.Minute)
		for _, shed := range []bool{false, true} {
			s := p.State(at, shed)
			w := p.PowerAt(at)
			if !near(float64(s.CriticalW+s.NonCriticalW), float64(w), 1e-9) || !near(float64(s.NonCriticalW), 0.3*float64(w), 1e-9) || s.Shed != shed {
				t.Fatalf("State(%v, %v) = %+v, load %v", at, shed, s, w)
			}
		}
	}
	if s := testLoad.State(start, false); s.NonCriticalW != 0 {
		t.Errorf("no sheddable share, yet %v non-critical", s.NonCriticalW)
	}
	for _, share := range []float64{-0.1, 1.1, math.NaN()} {
		p.SheddableShare = share
		if p.Validate() == nil {
			t.Errorf("share %v validated", share)
		}
	}
}
