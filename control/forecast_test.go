package control

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestSolarElevation(t *testing.T) {
	const lat, lon = 51.5, -0.13 // London
	tests := []struct {
		name string
		at   time.Time
		want float64 // degrees
		tol  float64
	}{
		// At solar noon the elevation is 90° − latitude + declination:
		// +23.44° at the June solstice, −23.44° at the December one.
		{"June solstice noon", time.Date(2026, 6, 21, 12, 2, 0, 0, time.UTC), 90 - lat + 23.44, 0.3},
		{"December solstice noon", time.Date(2026, 12, 21, 11, 58, 0, 0, time.UTC), 90 - lat - 23.44, 0.3},
		{"March equinox noon", time.Date(2026, 3, 20, 12, 8, 0, 0, time.UTC), 90 - lat, 0.6},
		{"June midnight: below the horizon by 90° − lat − decl", time.Date(2026, 6, 21, 0, 2, 0, 0, time.UTC), -(90 - lat - 23.44), 0.3},
		{"equator, equinox, noon: overhead", time.Date(2026, 3, 20, 12, 8, 0, 0, time.UTC), 90, 0.6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			la, lo := lat, lon
			if tt.want == 90 {
				la, lo = 0, 0
			}
			if got := SolarElevation(tt.at, la, lo); math.Abs(got-tt.want) > tt.tol {
				t.Errorf("SolarElevation = %.3f°, want %.3f° ± %v", got, tt.want, tt.tol)
			}
		})
	}
	// Longitude shifts solar time by 4 minutes a degree: Berlin's (13.4°
	// E) noon is 53.6 minutes before London's.
	london := SolarElevation(time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC), 52.5, 0)
	berlin := SolarElevation(time.Date(2026, 6, 21, 11, 6, 24, 0, time.UTC), 52.5, 13.4)
	if math.Abs(london-berlin) > 0.01 {
		t.Errorf("London %.3f° at 12:00, Berlin %.3f° at 11:06:24 UTC", london, berlin)
	}
}

func TestClearSkyGHI(t *testing.T) {
	for _, c := range []struct{ el, want float64 }{
		{90, 1098 * math.Exp(-0.059)},           // 1035.1 W/m²
		{30, 1098 * 0.5 * math.Exp(-0.059/0.5)}, // 487.9 W/m²
		{0, 0}, {-10, 0}, {math.NaN(), 0},
	} {
		if got := ClearSkyGHI(c.el); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("ClearSkyGHI(%v°) = %v, want %v", c.el, got, c.want)
		}
	}
}

func TestPVForecast(t *testing.T) {
	m := PVModel{LatitudeDeg: 51.5, LongitudeDeg: -0.13, PeakW: 4_000}
	noon := time.Date(2026, 6, 21, 12, 2, 0, 0, time.UTC)
	cs := m.ClearSkyW(noon)
	if want := 4 * ClearSkyGHI(SolarElevation(noon, 51.5, -0.13)); math.Abs(float64(cs)-want) > 1e-9 || cs < 3_500 {
		t.Fatalf("ClearSkyW at noon = %v, want %v", cs, want)
	}
	if got := m.ClearSkyW(noon.Add(12 * time.Hour)); got != 0 {
		t.Fatalf("ClearSkyW at midnight = %v", got)
	}
	// Measured at 60% of clear sky all morning, plus night samples (left
	// out), a garbage sample (left out) and a dawn sample (left out).
	var recent []Sample
	for at := noon.Add(-4 * time.Hour); !at.After(noon); at = at.Add(15 * time.Minute) {
		recent = append(recent, Sample{AtMs: at.UnixMilli(), W: 0.6 * m.ClearSkyW(at)})
	}
	recent = append(recent,
		Sample{AtMs: noon.Add(-12 * time.Hour).UnixMilli(), W: 50},
		Sample{AtMs: noon.UnixMilli(), W: gridmesh.W(math.NaN())},
		Sample{AtMs: time.Date(2026, 6, 21, 3, 50, 0, 0, time.UTC).UnixMilli(), W: 400})
	k, ok := m.Clearness(recent)
	if !ok || math.Abs(k-0.6) > 1e-9 {
		t.Fatalf("Clearness = %v, %v; want 0.6", k, ok)
	}
	if got := m.ForecastPV(noon.Add(time.Hour), k); math.Abs(float64(got-0.6*m.ClearSkyW(noon.Add(time.Hour)))) > 1e-9 {
		t.Fatalf("ForecastPV = %v", got)
	}
	if _, ok := m.Clearness(recent[len(recent)-3 : len(recent)-1]); ok {
		t.Fatal("clearness from night and garbage alone")
	}
	if k, _ := m.Clearness([]Sample{{AtMs: noon.UnixMilli(), W: 100 * cs}}); k != maxClearness {
		t.Fatalf("clearness not capped: %v", k)
	}
	for _, bad := range []PVModel{{LatitudeDeg: 91}, {LongitudeDeg: math.NaN()}, {PeakW: -1}, {PeakW: gridmesh.W(math.Inf(1))}} {
		if err := bad.Validate(); !errors.Is(err, ErrBadForecast) || bad.ClearSkyW(noon) != 0 {
			t.Errorf("%+v: Validate = %v", bad, err)
		}
	}
}

func TestForecastLoad(t *testing.T) {
	at := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	s := func(d time.Duration, w gridmesh.W) Sample { return Sample{AtMs: at.Add(d).UnixMilli(), W: w} }
	samples := []Sample{
		s(-day, 900), s(-day+5*time.Minute, 1_100), // yesterday: 1000 W
		s(-2*day-7*time.Minute, 2_000),                         // two days ago: 2000 W
		s(-3*day, 6_000),                                       // beyond 2 days
		s(-day+2*time.Hour, 9_000), s(-2*day-time.Hour, 9_000), // other hours
		s(-day+time.Minute, gridmesh.W(math.NaN())),                                   // garbage
		s(-day+15*time.Minute, 9_000), s(-day-15*time.Minute-time.Millisecond, 9_000), // just outside ±15 min
	}
	got, ok := ForecastLoad(samples, at, 2, 30*time.Minute)
	if !ok || got != 1_500 {
		t.Fatalf("ForecastLoad = %v, %v; want 1500 W (the mean of 1000 and 2000)", got, ok)
	}
	if got, ok := ForecastLoad(samples, at, 3, 30*time.Minute); !ok || got != 3_000 {
		t.Fatalf("three days: %v, %v; want 3000 W", got, ok)
	}
	if _, ok := ForecastLoad(samples, at.Add(6*time.Hour), 3, 30*time.Minute); ok {
		t.Fatal("a forecast with no history at that hour")
	}
	if _, ok := ForecastLoad(samples, at, 0, 30*time.Minute); ok {
		t.Fatal("a forecast from zero days")
	}
}

func TestReserveAhead(t *testing.T) {
	at := time.Date(2026, 1, 15, 17, 0, 0, 0, time.UTC)
	h := func(n int) int64 { return at.Add(time.Duration(n) * time.Hour).UnixMilli() }
	// The evening: 1 kW, 2 kW, 500 W of surplus, 1.5 kW, hour by hour;
	// given out of order.
	evening := []Sample{{h(2), -500}, {h(0), 1_000}, {h(3), 1_500}, {h(1), 2_000}}
	win := func(from, to int, aim, cut, maxW gridmesh.W, eff float64) ReserveWindow {
		return ReserveWindow{Start: at.Add(time.Duration(from) * time.Hour), End: at.Add(time.Duration(to) * time.Hour),
			AimW: aim, CutW: cut, MaxDischargeW: maxW, Efficiency: eff}
	}
	tests := []struct {
		name     string
		forecast []Sample
		w        ReserveWindow
		want     gridmesh.Wh
	}{
		{"self-consumption through the peak", evening, win(0, 4, 0, 0, 5_000, 1), 4_500},
		{"with 90% efficiency", evening, win(0, 4, 0, 0, 5_000, 0.9), 5_000},
		{"what the battery cannot deliver needs no storing", evening, win(0, 4, 0, 0, 1_500, 1), 4_000},
		{"an import allowance", evening, win(0, 4, 1_000, 0, 5_000, 1), 1_500},
		{"a 1 kW cut, no aim", evening, win(0, 4, gridmesh.W(math.Inf(1)), 1_000, 5_000, 1), 4_000},
		{"a 1 kW cut on top of self-consumption", evening, win(0, 4, 0, 1_000, 5_000, 1), 5_500},
		{"a window across samples", evening, ReserveWindow{Start: at.Add(30 * time.Minute), End: at.Add(90 * time.Minute), MaxDischargeW: 5_000, Efficiency: 1}, 1_500},
		{"the last sample holds to the end", evening, win(3, 6, 0, 0, 5_000, 1), 4_500},
		{"the first sample holds before it", evening, win(-2, 1, 0, 0, 5_000, 1), 3_000},
		{"no forecast: the cut alone", nil, win(0, 2, 0, 700, 5_000, 1), 1_400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReserveAhead(tt.forecast, tt.w)
			if err != nil || math.Abs(float64(got-tt.want)) > 1e-9 {
				t.Errorf("ReserveAhead = %v, %v; want %v Wh", float64(got), err, float64(tt.want))
			}
		})
	}
	for name, w := range map[string]ReserveWindow{
		"empty window":       win(1, 1, 0, 0, 5_000, 1),
		"zero efficiency":    win(0, 1, 0, 0, 5_000, 0),
		"efficiency above 1": win(0, 1, 0, 0, 5_000, 1.1),
		"negative cut":       win(0, 1, 0, -1, 5_000, 1),
		"NaN aim":            win(0, 1, gridmesh.W(math.NaN()), 0, 5_000, 1),
		"negative limit":     win(0, 1, 0, 0, -5, 1),
	} {
		if _, err := ReserveAhead(evening, w); !errors.Is(err, ErrBadForecast) {
			t.Errorf("%s: %v, want ErrBadForecast", name, err)
		}
	}
}

func TestForecastNetThenReserve(t *testing.T) {
	pv := PVModel{LatitudeDeg: 51.5, PeakW: 4_000}
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	// A week of load: 400 W, and 2 kW from 17:00 to 21:00.
	var load []Sample
	for at := day.Add(-7 * 24 * time.Hour); at.Before(day); at = at.Add(15 * time.Minute) {
		w := gridmesh.W(400)
		if h := at.Hour(); h >= 17 && h < 21 {
			w = 2_000
		}
		load = append(load, Sample{AtMs: at.UnixMilli(), W: w})
	}
	fc, err := ForecastNet(pv, 0.5, load, 7, day.Add(16*time.Hour), day.Add(22*time.Hour), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(fc) != 24 {
		t.Fatalf("%d samples, want 24", len(fc))
	}
	// In January in London the sun is down by 16:15: the evening is load
	// alone, 4 h at 2 kW.
	got, err := ReserveAhead(fc, ReserveWindow{Start: day.Add(17 * time.Hour), End: day.Add(21 * time.Hour), MaxDischargeW: 5_000, Efficiency: 1})
	if err != nil || math.Abs(float64(got)-8_000) > 1e-6 {
		t.Fatalf("evening reserve %v Wh, %v; want 8000", float64(got), err)
	}
	// At noon PV takes its share off the load.
	noon, err := ForecastNet(pv, 0.5, load, 7, day.Add(12*time.Hour), day.Add(12*time.Hour+time.Minute), time.Minute)
	if err != nil || len(noon) != 1 || noon[0].W >= 400 || noon[0].W < 400-0.5*4_000 {
		t.Fatalf("noon net %+v, %v", noon, err)
	}
	for _, c := range []struct {
		from, to time.Time
		step     time.Duration
	}{
		{day, day, time.Minute}, {day, day.Add(time.Hour), 0}, {day, day.Add(30 * 24 * time.Hour), time.Second},
	} {
		if _, err := ForecastNet(pv, 1, load, 7, c.from, c.to, c.step); !errors.Is(err, ErrBadForecast) {
			t.Errorf("ForecastNet(%v, %v, %v) = %v", c.from, c.to, c.step, err)
		}
	}
}

// TestForecastProperties: elevation in [-90, 90], irradiance in [0, 1098],
// clear-sky output zero with the sun down, and a reserve that is
// non-negative, within the battery's power over the window and larger
// for a lower aim.
func TestForecastProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 17))
	for i := range 20_000 {
		at := time.Unix(1_700_000_000+rng.Int64N(400_000_000), 0)
		lat, lon := rng.Float64()*180-90, rng.Float64()*360-180
		el := SolarElevation(at, lat, lon)
		ghi := ClearSkyGHI(el)
		if math.IsNaN(el) || el < -90 || el > 90 || ghi < 0 || ghi > 1098 || el <= 0 && ghi != 0 {
			t.Fatalf("seed %d iter %d: %v at (%v, %v): elevation %v, GHI %v", seed, i, at, lat, lon, el, ghi)
		}
		fc := make([]Sample, rng.IntN(10))
		for k := range fc {
			fc[k] = Sample{AtMs: at.Add(time.Duration(rng.IntN(600)) * time.Minute).UnixMilli(), W: gridmesh.W(rng.Float64()*8_000 - 3_000)}
		}
		w := ReserveWindow{Start: at, End: at.Add(time.Duration(1+rng.IntN(600)) * time.Minute),
			AimW: gridmesh.W(rng.Float64() * 2_000), CutW: gridmesh.W(rng.Float64() * 500), MaxDischargeW: gridmesh.W(rng.Float64() * 6_000),
			Efficiency: 0.5 + rng.Float64()/2}
		r1, err := ReserveAhead(fc, w)
		if err != nil {
			t.Fatal(err)
		}
		lower := w
		lower.AimW -= 500
		r2, _ := ReserveAhead(fc, lower)
		bound := float64(w.MaxDischargeW) * w.End.Sub(w.Start).Hours() / w.Efficiency
		if r1 < 0 || float64(r1) > bound*(1+1e-9) || r2 < r1 {
			t.Fatalf("seed %d iter %d: reserve %v (bound %v), %v with a lower aim", seed, i, r1, bound, r2)
		}
	}
}
