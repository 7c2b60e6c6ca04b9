package control

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The prior's shape has a daily mean of 1 in every season, its winter
// evening peak above its night, and the southern hemisphere's January
// is the northern July.
func TestPriorShape(t *testing.T) {
	day := func(month time.Month, lat float64) (mean, night, evening float64) {
		d := time.Date(2026, month, 15, 0, 0, 0, 0, time.UTC)
		for k := range 96 {
			mean += priorShape(d.Add(time.Duration(k)*HistoryStep), lat, 0) / 96
		}
		return mean, priorShape(d.Add(3*time.Hour+30*time.Minute), lat, 0), priorShape(d.Add(19*time.Hour+30*time.Minute), lat, 0)
	}
	for _, m := range []time.Month{time.January, time.April, time.July} {
		mean, night, evening := day(m, 52)
		if math.Abs(mean-1) > 1e-9 {
			t.Errorf("%v: daily mean %v, want 1", m, mean)
		}
		if !(evening > 1.5*night) {
			t.Errorf("%v: evening %v, night %v: want the evening well above the night", m, evening, night)
		}
	}
	if got, want := priorShape(time.Date(2026, 1, 15, 19, 30, 0, 0, time.UTC), -35, 0), priorShape(time.Date(2026, 7, 15, 19, 30, 0, 0, time.UTC), 35, 0); got != want {
		t.Errorf("January at 35° S: %v, July at 35° N: %v", got, want)
	}
	// 19:30 mean solar time at 30° E is 17:30 UTC.
	if got, want := priorShape(time.Date(2026, 1, 15, 17, 30, 0, 0, time.UTC), 52, 30), priorShape(time.Date(2026, 1, 15, 19, 30, 0, 0, time.UTC), 52, 0); math.Abs(got-want) > 1e-12 {
		t.Errorf("17:30 UTC at 30° E: %v, 19:30 at 0°: %v", got, want)
	}
}

// The prior's level: an island whose load is the shape times 900 W over
// two hours of an afternoon forecasts its night as the shape times
// 900 W; a level the shape would take past twice the history's mean is
// held there; too few samples give none.
func TestPriorLevel(t *testing.T) {
	start := time.Date(2026, 1, 15, 16, 0, 0, 0, time.UTC)
	var h ForecastHistory
	for at := start; at.Before(start.Add(2 * time.Hour)); at = at.Add(HistoryStep) {
		h.Add(at, gridmesh.W(900*priorShape(at, 0, 0)), 0)
	}
	now := start.Add(2 * time.Hour)
	cfg := DefaultRationConfig()
	fc := ForecastIsland(&h, PVModel{}, now, DefaultRationHorizon, cfg)
	if fc.Guessed != nil {
		t.Fatalf("guessed steps with two hours of history: %v", fc.Guessed)
	}
	for i := 0; i < len(fc.CriticalW)-8; i++ { // the last two hours are the history's own
		at := now.Add(time.Duration(i) * cfg.Step)
		if want := 900 * priorShape(at, 0, 0); math.Abs(float64(fc.CriticalW[i])-want) > 1e-6*want {
			t.Fatalf("step %d (%v): %v, want %v", i, at, fc.CriticalW[i], want)
		}
	}
	// Four samples of 100 W at the shape's trough (03:00-04:00): Σ load /
	// Σ shape is 100/0.4 or so, held at twice the mean, 200 W.
	var trough ForecastHistory
	for k := range 4 {
		trough.Add(time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC).Add(time.Duration(k)*HistoryStep), 100, 0)
	}
	if l, ok := priorLevel(trough.Load, 52, 0); !ok || l != 200 {
		t.Errorf("level from the trough: %v (%v), want 200 W", l, ok)
	}
	if _, ok := priorLevel(trough.Load[:3], 52, 0); ok {
		t.Error("a level from three samples")
	}
	bad := append(trough.Load[:3:3], Sample{AtMs: trough.Load[3].AtMs, W: gridmesh.W(math.NaN())})
	if _, ok := priorLevel(bad, 52, 0); ok {
		t.Error("a level from three finite samples and a NaN")
	}
}
