package sim

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

var testPV = PVParams{PeakW: 4_000, SunriseHour: 6, SunsetHour: 20}

func TestPVPowerAt(t *testing.T) {
	day := time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		hour float64
		want float64
	}{
		{0, 0}, {5.9, 0}, {6, 0}, {13, 4_000}, {9.5, 4_000 * math.Sqrt(0.5)}, {20, 0}, {23.99, 0},
	}
	for _, tt := range tests {
		at := day.Add(time.Duration(tt.hour * float64(time.Hour)))
		if got := float64(testPV.PowerAt(at)); !near(got, tt.want, 1e-6) {
			t.Errorf("PowerAt(%v) = %v, want %v", at.Format("15:04"), got, tt.want)
		}
	}
}

// TestPVLocalTime checks that the curve follows t's own location: solar
// noon is 13:00 on the local wall clock wherever t is.
func TestPVLocalTime(t *testing.T) {
	east := time.FixedZone("UTC+3", 3*3600)
	at := time.Date(2026, 6, 21, 13, 0, 0, 0, east)
	if got := testPV.PowerAt(at); got != testPV.PeakW {
		t.Errorf("PowerAt(13:00 local) = %v, want peak %v", got, testPV.PeakW)
	}
	if got := testPV.PowerAt(at.UTC()); got == testPV.PeakW {
		t.Errorf("PowerAt(10:00 UTC) = peak, want less")
	}
}

func TestPVPureAndNonNegative(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for m := range 3 * 24 * 60 {
		at := start.Add(time.Duration(m) * time.Minute)
		a, b := testPV.PowerAt(at), testPV.PowerAt(at)
		if a != b || a < 0 || a > testPV.PeakW || !a.Finite() {
			t.Fatalf("PowerAt(%v) = %v then %v", at, a, b)
		}
	}
}

func TestPVParamsValidate(t *testing.T) {
	if err := testPV.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []PVParams{
		{PeakW: -1, SunriseHour: 6, SunsetHour: 20},
		{PeakW: 1, SunriseHour: 20, SunsetHour: 6},
		{PeakW: 1, SunriseHour: 6, SunsetHour: 6},
		{PeakW: 1, SunriseHour: -1, SunsetHour: 6},
		{PeakW: 1, SunriseHour: 6, SunsetHour: 25},
		{PeakW: 1, SunriseHour: math.NaN(), SunsetHour: 20},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v validated", p)
		}
	}
}

func TestPVClouds(t *testing.T) {
	cloudy := testPV
	cloudy.Cloudiness, cloudy.Seed = 1, 7
	day := time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)
	var clearWh, cloudyWh float64
	var prev gridmesh.W
	shaded := 0
	for s := 0; s < 24*3600; s += 5 {
		at := day.Add(time.Duration(s) * time.Second)
		c, w := testPV.PowerAt(at), cloudy.PowerAt(at)
		if w != cloudy.PowerAt(at) || w < 0 || w > c || !w.Finite() {
			t.Fatalf("%v: cloudy %v, clear %v", at, w, c)
		}
		if w < c*0.99 {
			shaded++
		}
		// Edges ramp over cloudRamp: in 5 s the light changes by at most
		// 5/30 of the deepest shade plus the sun's own motion.
		if s > 0 && math.Abs(float64(w-prev)) > float64(cloudy.PeakW)*(1-cloudMinTransmit)*5/30+1 {
			t.Fatalf("%v: jump from %v to %v", at, prev, w)
		}
		prev = w
		clearWh += float64(c) * 5 / 3600
		cloudyWh += float64(w) * 5 / 3600
	}
	// A cloud in every slot shades 1-8 min of 10: a fifth to four fifths
	// of the day's daylight, by 30-80 %.
	if ratio := cloudyWh / clearWh; ratio < 0.3 || ratio > 0.95 || shaded == 0 {
		t.Errorf("cloudy day yields %.2f of a clear one, %d shaded samples", ratio, shaded)
	}
	other := cloudy
	other.Seed = 8
	same := true
	for m := range 24 * 60 {
		at := day.Add(time.Duration(m) * time.Minute)
		same = same && other.PowerAt(at) == cloudy.PowerAt(at)
	}
	if same {
		t.Error("seeds 7 and 8 give the same clouds")
	}
	bad := testPV
	for _, c := range []float64{-0.1, 1.1, math.NaN()} {
		bad.Cloudiness = c
		if bad.Validate() == nil {
			t.Errorf("cloudiness %v validated", c)
		}
	}
}

func TestPVState(t *testing.T) {
	noon := time.Date(2026, 6, 21, 13, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ limit, wantLimit, wantPower gridmesh.W }{
		{5_000, 4_000, 4_000},
		{4_000, 4_000, 4_000},
		{1_500, 1_500, 1_500},
		{0, 0, 0},
		{-10, 0, 0},
		{gridmesh.W(math.NaN()), 4_000, 4_000},
	} {
		got := testPV.State(noon, tt.limit)
		if got.LimitW != tt.wantLimit || got.PowerW != tt.wantPower || got.AvailableW != 4_000 || got.PeakW != 4_000 {
			t.Errorf("State(noon, %v) = %+v", tt.limit, got)
		}
	}
	if got := testPV.State(noon.Add(-13*time.Hour), 1_000); got.PowerW != 0 || got.AvailableW != 0 {
		t.Errorf("State(midnight) = %+v", got)
	}
}
