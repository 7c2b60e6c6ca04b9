package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// PVParams describes a PV array and its inverter: its peak power, the
// hours of the day it produces, and the clouds passing over it.
type PVParams struct {
	// PeakW is the production at solar noon, halfway between sunrise and
	// sunset.
	PeakW gridmesh.W
	// SunriseHour and SunsetHour bound the production, in hours since
	// local midnight (0 <= SunriseHour < SunsetHour <= 24).
	SunriseHour, SunsetHour float64
	// Cloudiness is the chance, 0..1, that a cloud passes over the array
	// in any cloudSlot. 0 is a clear sky.
	Cloudiness float64
	// Seed places the clouds. Two arrays with the same parameters and seed
	// produce the same at every instant.
	Seed uint64
	// Source, if set, is what the array can produce at every instant (a
	// measured or generated profile), in place of the half-sine and the
	// clouds; it is clamped to [0, PeakW].
	Source PowerSource
}

// Passing clouds. Each cloudSlot may hold one cloud, which starts and ends
// inside its slot, so cloudAt hashes only the slot t is in.
const (
	// cloudSlot is 10 minutes: a fair-weather cumulus crosses a roof in a
	// few minutes, and a slot holds the longest of them.
	cloudSlot = 10 * time.Minute
	// Clouds shade the array for 1-8 minutes.
	cloudMinLength, cloudSpanLength = time.Minute, 7 * time.Minute
	// A cloud's edge takes half a minute to cross an array: production
	// ramps rather than jumps, as measured PV does.
	cloudRamp = 30 * time.Second
	// A cloud lets 20-70 % of the sunlight through: thick cumulus to thin
	// veil.
	cloudMinTransmit, cloudSpanTransmit = 0.2, 0.5
)

// Validate checks that the peak is finite and non-negative and that the
// day is a non-empty part of [0, 24] hours.
func (p PVParams) Validate() error {
	if !p.PeakW.Finite() || p.PeakW < 0 || p.PeakW > gridmesh.MaxHomePowerW {
		return fmt.Errorf("%w: PV peak %v outside [0, %v]", ErrInvalidParams, p.PeakW, gridmesh.MaxHomePowerW)
	}
	if !(0 <= p.SunriseHour && p.SunriseHour < p.SunsetHour && p.SunsetHour <= 24) {
		return fmt.Errorf("%w: PV day %v..%v h not within 0..24 h", ErrInvalidParams, p.SunriseHour, p.SunsetHour)
	}
	if c := p.Cloudiness; math.IsNaN(c) || c < 0 || c > 1 {
		return fmt.Errorf("%w: cloudiness %v outside [0, 1]", ErrInvalidParams, c)
	}
	return nil
}

// PowerAt returns what the array can produce at t, uncurtailed: a
// half-sine between sunrise and sunset of t's day in t's location, times
// PeakW, times the light a passing cloud lets through, and 0 at night. It
// is a pure function of t and never negative nor above PeakW.
func (p PVParams) PowerAt(t time.Time) gridmesh.W {
	if p.Source != nil {
		return sourced(p.Source, t, p.PeakW)
	}
	h := hourOfDay(t)
	if h <= p.SunriseHour || h >= p.SunsetHour {
		return 0
	}
	w := gridmesh.W(float64(p.PeakW) * math.Sin(math.Pi*(h-p.SunriseHour)/(p.SunsetHour-p.SunriseHour)) * p.cloudAt(t))
	if !w.Finite() || w < 0 {
		return 0
	}
	return min(w, p.PeakW)
}

// State is the inverter at t under a curtailment limit: it produces what
// the array can, up to the limit. The limit is clamped to [0, PeakW]; a
// non-finite limit counts as none (PeakW).
func (p PVParams) State(t time.Time, limitW gridmesh.W) gridmesh.PVState {
	limit := p.clampLimit(limitW)
	avail := p.PowerAt(t)
	return gridmesh.PVState{PowerW: min(avail, limit), AvailableW: avail, LimitW: limit, PeakW: p.PeakW}
}

// clampLimit brings a curtailment limit into [0, PeakW]; a non-finite
// limit is no limit.
func (p PVParams) clampLimit(w gridmesh.W) gridmesh.W {
	if !w.Finite() {
		return p.PeakW
	}
	return w.Clamp(0, p.PeakW)
}

// cloudAt is the share of sunlight reaching the array at t, (0, 1].
func (p PVParams) cloudAt(t time.Time) float64 {
	if p.Cloudiness <= 0 {
		return 1
	}
	start, x := slotOf(t, cloudSlot)
	if unit(p.Seed, saltCloudOn, x) >= p.Cloudiness {
		return 1
	}
	length := cloudMinLength + time.Duration(unit(p.Seed, saltCloudLength, x)*float64(cloudSpanLength))
	on := start.Add(time.Duration(unit(p.Seed, saltCloudStart, x) * float64(cloudSlot-length)))
	in, out := t.Sub(on), on.Add(length).Sub(t)
	if in <= 0 || out <= 0 {
		return 1
	}
	shade := min(1, float64(in)/float64(cloudRamp), float64(out)/float64(cloudRamp))
	transmit := cloudMinTransmit + unit(p.Seed, saltCloudDepth, x)*cloudSpanTransmit
	return 1 - (1-transmit)*shade
}

// hourOfDay returns the wall-clock time of t in its location as
// fractional hours since midnight, in [0, 24).
func hourOfDay(t time.Time) float64 {
	h, m, s := t.Clock()
	return float64(h) + float64(m)/60 + (float64(s)+float64(t.Nanosecond())/1e9)/3600
}
