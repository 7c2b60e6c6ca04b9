package plot

import (
	"math"
	"slices"
	"strings"
	"testing"
)

var nan, inf = math.NaN(), math.Inf(1)

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lo, hi float64
		n      int
		want   []float64
	}{
		{"unit interval", 0, 1, 6, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{"odd bounds widen to nice ones", 3.2, 97.5, 6, []float64{0, 20, 40, 60, 80, 100}},
		{"negative to positive", -4200, 11800, 6, []float64{-5000, 0, 5000, 10000, 15000}},
		{"reversed bounds", 10, 0, 6, []float64{0, 2, 4, 6, 8, 10}},
		{"a point is widened by a tenth", 50, 50, 5, []float64{44, 46, 48, 50, 52, 54, 56}},
		{"zero is widened to ±1", 0, 0, 3, []float64{-1, 0, 1}},
		{"frequency near 50 Hz", 49.52, 50.07, 6, []float64{49.5, 49.6, 49.7, 49.8, 49.9, 50, 50.1}},
		{"n below 2 acts as 2", 0, 7, 0, []float64{0, 10}},
		{"a run of 30.1 s stays tight", 0, 30.1, 8, []float64{0, 5, 10, 15, 20, 25, 30, 35}},
		{"NaN", nan, 1, 5, nil},
		{"infinite", 0, inf, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NiceTicks(tc.lo, tc.hi, tc.n)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("NiceTicks(%v, %v, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.want)
			}
		})
	}
}

// Whatever the interval, the ticks cover it, are evenly spaced and few.
func TestNiceTicksCoverTheInterval(t *testing.T) {
	for _, iv := range [][2]float64{{0.001, 0.0013}, {-1e6, 3}, {17, 17.5}, {-0.3, -0.1}, {1e9, 1e9 + 7}} {
		ticks := NiceTicks(iv[0], iv[1], 6)
		if len(ticks) < 2 || len(ticks) > 14 {
			t.Fatalf("%v: %d ticks %v", iv, len(ticks), ticks)
		}
		if ticks[0] > iv[0] || ticks[len(ticks)-1] < iv[1] {
			t.Errorf("%v: ticks %v do not cover it", iv, ticks)
		}
		step := ticks[1] - ticks[0]
		for i := 2; i < len(ticks); i++ {
			if d := ticks[i] - ticks[i-1]; math.Abs(d-step) > step*1e-6 {
				t.Errorf("%v: uneven ticks %v", iv, ticks)
			}
		}
	}
}

func TestExtent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		series [][]float64
		lo, hi float64
		ok     bool
	}{
		{"no series", nil, 0, 0, false},
		{"empty series", [][]float64{{}, nil}, 0, 0, false},
		{"only gaps", [][]float64{{nan, inf, -inf}}, 0, 0, false},
		{"gaps ignored", [][]float64{{nan, 3, inf}, {-2, nan}}, -2, 3, true},
		{"one value", [][]float64{{5}}, 5, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, ok := Extent(tc.series...)
			if lo != tc.lo || hi != tc.hi || ok != tc.ok {
				t.Fatalf("Extent = %v, %v, %v; want %v, %v, %v", lo, hi, ok, tc.lo, tc.hi, tc.ok)
			}
		})
	}
}

func TestScaleMap(t *testing.T) {
	y := Scale{D0: 0, D1: 100, R0: 200, R1: 0} // a y axis: up is smaller
	for v, want := range map[float64]float64{0: 200, 100: 0, 25: 150, -50: 300} {
		if got := y.Map(v); got != want {
			t.Errorf("Map(%v) = %v, want %v", v, got, want)
		}
	}
	flat := Scale{D0: 3, D1: 3, R0: 10, R1: 20}
	if got := flat.Map(3); got != 15 {
		t.Errorf("zero-width domain maps to %v, want the middle 15", got)
	}
}

func TestPath(t *testing.T) {
	id := Scale{D0: 0, D1: 10, R0: 0, R1: 10}
	for _, tc := range []struct {
		name   string
		xs, ys []float64
		step   bool
		want   string
	}{
		{"empty", nil, nil, false, ""},
		{"all gaps", []float64{1, 2}, []float64{nan, inf}, false, ""},
		{"line", []float64{0, 1, 2}, []float64{5, 6, 4.25}, false, "M0 5L1 6L2 4.3"},
		{"a gap breaks the line", []float64{0, 1, 2, 3}, []float64{1, nan, 2, 3}, false, "M0 1M2 2L3 3"},
		{"x gap too", []float64{0, nan, 2}, []float64{1, 1, 1}, false, "M0 1M2 1"},
		{"staircase", []float64{0, 1, 2}, []float64{5, 6, 6}, true, "M0 5H1V6H2V6"},
		{"longer ys ignored", []float64{0}, []float64{1, 2}, false, "M0 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Path(tc.xs, tc.ys, id, id, tc.step); got != tc.want {
				t.Fatalf("Path = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTickDecimalsAndFormat(t *testing.T) {
	for step, want := range map[float64]int{1000: 0, 1: 0, 0.5: 1, 0.1: 1, 0.05: 2, 0.02: 2, 0: 0, -1: 0} {
		if got := TickDecimals(step); got != want {
			t.Errorf("TickDecimals(%v) = %d, want %d", step, got, want)
		}
	}
	if got := FormatTick(49.9, 1); got != "49.9" {
		t.Errorf("FormatTick = %q", got)
	}
	if strings.Contains(FormatTick(NiceTicks(-1, 1, 3)[1], 0), "-") {
		t.Error("a zero tick prints as -0")
	}
}
