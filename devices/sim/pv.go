package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// PVParams describes a PV array on a clear day: its peak power and the
// hours of the day it produces.
type PVParams struct {
	// PeakW is the production at solar noon, halfway between sunrise and
	// sunset.
	PeakW gridmesh.W
	// SunriseHour and SunsetHour bound the production, in hours since
	// local midnight (0 <= SunriseHour < SunsetHour <= 24).
	SunriseHour, SunsetHour float64
}

// Validate checks that the peak is finite and non-negative and that the
// day is a non-empty part of [0, 24] hours.
func (p PVParams) Validate() error {
	if !p.PeakW.Finite() || p.PeakW < 0 || p.PeakW > gridmesh.MaxHomePowerW {
		return fmt.Errorf("%w: PV peak %v outside [0, %v]", ErrInvalidParams, p.PeakW, gridmesh.MaxHomePowerW)
	}
	if !(0 <= p.SunriseHour && p.SunriseHour < p.SunsetHour && p.SunsetHour <= 24) {
		return fmt.Errorf("%w: PV day %v..%v h not within 0..24 h", ErrInvalidParams, p.SunriseHour, p.SunsetHour)
	}
	return nil
}

// PowerAt returns the production at t: a half-sine between sunrise and
// sunset of t's day in t's location, times PeakW, and 0 at night. It is a
// pure function of t and never negative.
func (p PVParams) PowerAt(t time.Time) gridmesh.W {
	h := hourOfDay(t)
	if h <= p.SunriseHour || h >= p.SunsetHour {
		return 0
	}
	w := gridmesh.W(float64(p.PeakW) * math.Sin(math.Pi*(h-p.SunriseHour)/(p.SunsetHour-p.SunriseHour)))
	if !w.Finite() || w < 0 {
		return 0
	}
	return w
}

// hourOfDay returns the wall-clock time of t in its location as
// fractional hours since midnight, in [0, 24).
func hourOfDay(t time.Time) float64 {
	h, m, s := t.Clock()
	return float64(h) + float64(m)/60 + (float64(s)+float64(t.Nanosecond())/1e9)/3600
}
