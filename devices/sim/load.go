package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// LoadParams describes a household's consumption. The daily profile is a
// night base plus a morning and an evening bump; Seed varies the bumps'
// timing and width from home to home and places appliance events (a
// kettle, an oven, a washing machine: 1-3 kW for a few minutes).
type LoadParams struct {
	// BaseW is the always-on load: fridge, standby, ventilation.
	BaseW gridmesh.W
	// MorningPeakW is the load added at the top of the morning bump.
	MorningPeakW gridmesh.W
	// EveningPeakW is the load added at the top of the evening bump.
	EveningPeakW gridmesh.W
	// Seed makes the home's profile its own. Two homes with the same
	// parameters and seed consume the same at every instant.
	Seed uint64
	// SheddableShare is the share of the load, 0..1, that is non-critical
	// and may be shed (a washing machine, a dryer, a pool pump); the rest
	// (fridge, lights, medical devices) is critical. 0: nothing may be
	// shed.
	SheddableShare float64
	// Source, if set, is the household's consumption at every instant (a
	// measured or generated profile), in place of the daily profile and
	// the appliance events; it is clamped to [0, gridmesh.MaxHomePowerW].
	Source PowerSource
}

// Daily profile shape. The figures follow typical European household
// load curves: a morning bump around 07:00 and a broader evening bump
// around 19:00.
const (
	// morningCenterHour ± morningSpreadHour/2 is where a home's morning
	// bump peaks: households get up over about an hour and a half.
	morningCenterHour, morningSpreadHour = 7.0, 1.5
	// The morning bump's standard deviation ranges over [min, min+span]
	// hours: breakfast and leaving the house take an hour or two.
	morningWidthMinHour, morningWidthSpanHour = 0.8, 0.4
	// eveningCenterHour ± eveningSpreadHour/2 is where a home's evening
	// bump peaks: cooking and coming home spread over about two hours.
	eveningCenterHour, eveningSpreadHour = 19.0, 2.0
	// The evening bump is broader than the morning one: cooking, lights
	// and entertainment last the evening.
	eveningWidthMinHour, eveningWidthSpanHour = 1.2, 0.8
)

// Appliance events. Each slot of applianceSlot may hold one event, which
// starts and ends inside its slot, so PowerAt hashes only the slot t is in.
const (
	// applianceSlot is 15 minutes: long enough to hold the longest event,
	// short enough for several events an hour in a busy evening.
	applianceSlot = 15 * time.Minute
	// Events draw 1-3 kW: a kettle, an oven, a washing machine heating.
	applianceMinW, applianceSpanW gridmesh.W = 1000, 2000
	// Events last 2-12 minutes: a kettle boils in two or three, an oven or
	// a washing machine's heating phase runs about ten.
	applianceMinLength, applianceSpanLength = 2 * time.Minute, 10 * time.Minute
	// Per-slot chance of an event at night, during the day and in the
	// evening: about ten events a day in all, most of them in the evening.
	applianceNightChance, applianceDayChance, applianceEveningChance = 0.02, 0.10, 0.25
	// A home's activity scales those chances by [min, min+span]: some
	// households cook and wash far more than others.
	activityMin, activitySpan = 0.6, 0.8
)

// Validate checks that every power is finite, non-negative and in range.
func (p LoadParams) Validate() error {
	for _, w := range []gridmesh.W{p.BaseW, p.MorningPeakW, p.EveningPeakW} {
		if !w.Finite() || w < 0 || w > gridmesh.MaxHomePowerW {
			return fmt.Errorf("%w: load %v outside [0, %v]", ErrInvalidParams, w, gridmesh.MaxHomePowerW)
		}
	}
	if s := p.SheddableShare; math.IsNaN(s) || s < 0 || s > 1 {
		return fmt.Errorf("%w: sheddable share %v outside [0, 1]", ErrInvalidParams, s)
	}
	return nil
}

// State splits the load at t into its critical and non-critical parts
// (SheddableShare of PowerAt). Shed only marks the state: NonCriticalW is
// the non-critical demand whether it is served or not.
func (p LoadParams) State(t time.Time, shed bool) gridmesh.LoadState {
	w := p.PowerAt(t)
	share := min(max(p.SheddableShare, 0), 1)
	non := w * gridmesh.W(share)
	return gridmesh.LoadState{CriticalW: w - non, NonCriticalW: non, Shed: shed}
}

// PowerAt returns the household's consumption at t: the daily profile for
// t's wall-clock hour in t's location plus any appliance event running at
// t. It is a pure function of t (no state: the same t always gives the
// same watts) and never negative.
func (p LoadParams) PowerAt(t time.Time) gridmesh.W {
	if p.Source != nil {
		return sourced(p.Source, t, gridmesh.MaxHomePowerW)
	}
	w := p.profileAt(hourOfDay(t)) + p.applianceAt(t)
	if !w.Finite() || w < 0 {
		return 0
	}
	return w
}

// profileAt is the smooth daily profile at hour h of the day.
func (p LoadParams) profileAt(h float64) gridmesh.W {
	mc := morningCenterHour + (unit(p.Seed, saltMorningCenter, 0)-0.5)*morningSpreadHour
	mw := morningWidthMinHour + unit(p.Seed, saltMorningWidth, 0)*morningWidthSpanHour
	ec := eveningCenterHour + (unit(p.Seed, saltEveningCenter, 0)-0.5)*eveningSpreadHour
	ew := eveningWidthMinHour + unit(p.Seed, saltEveningWidth, 0)*eveningWidthSpanHour
	return p.BaseW + p.MorningPeakW*gridmesh.W(bump(h, mc, mw)) + p.EveningPeakW*gridmesh.W(bump(h, ec, ew))
}

// bump is a Gaussian of height 1 centred at hour c with standard deviation
// w hours, measured around the 24-hour clock so it is smooth at midnight.
func bump(h, c, w float64) float64 {
	d := math.Mod(math.Abs(h-c), 24)
	d = min(d, 24-d)
	return math.Exp(-d * d / (2 * w * w))
}

// applianceAt is the power of the appliance event running at t, if any.
func (p LoadParams) applianceAt(t time.Time) gridmesh.W {
	start, x := slotOf(t, applianceSlot)

	chance := applianceDayChance
	switch h := start.Hour(); {
	case h >= 23 || h < 6:
		chance = applianceNightChance
	case h >= 17:
		chance = applianceEveningChance
	}
	chance *= activityMin + unit(p.Seed, saltActivity, 0)*activitySpan
	if unit(p.Seed, saltApplianceOn, x) >= chance {
		return 0
	}
	length := applianceMinLength + time.Duration(unit(p.Seed, saltApplianceLength, x)*float64(applianceSpanLength))
	on := start.Add(time.Duration(unit(p.Seed, saltApplianceStart, x) * float64(applianceSlot-length)))
	if t.Before(on) || !t.Before(on.Add(length)) {
		return 0
	}
	return applianceMinW + gridmesh.W(unit(p.Seed, saltAppliancePower, x))*applianceSpanW
}

// slotOf returns the start of the slot of length d that t falls in (slots
// are aligned on the Unix epoch) in t's location, and the slot's index as
// a hash input.
func slotOf(t time.Time, d time.Duration) (time.Time, uint64) {
	slotSec := int64(d / time.Second)
	slot := t.Unix() / slotSec
	if t.Unix()%slotSec < 0 {
		slot-- // floor division for instants before 1970
	}
	return time.Unix(slot*slotSec, 0).In(t.Location()), uint64(slot)
}
