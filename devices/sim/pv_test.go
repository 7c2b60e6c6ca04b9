package sim

import (
	"math"
	"testing"
	"time"
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
