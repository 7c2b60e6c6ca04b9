package control

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The owner's settings: what the person who lives in a home may change
// about how it takes part in its neighborhood, and the pure rules by
// which they change what the home's loop does and what it offers.

// OwnerSettings are a home owner's choices. The zero value is a home
// that keeps no reserve, takes part in every event and is steered.
type OwnerSettings struct {
	// ReservePct is the share of the battery's capacity, 0..100, the home
	// keeps for itself while the grid is up: the loop does not discharge
	// below it and the home offers its neighborhood only what lies above
	// it. An islanded home may use it: that is what it is kept for.
	ReservePct float64 `json:"reserve_pct"`
	// OptOutNext opts the home out of the next demand-response event: the
	// one in force, or else the next to start. Once the home knows that
	// event, OptOutEvent names it and OptOutStartMs and OptOutEndMs bound
	// it (Unix ms); the opt-out ends with it.
	OptOutNext    bool   `json:"opt_out_next"`
	OptOutEvent   string `json:"opt_out_event,omitempty"`
	OptOutStartMs int64  `json:"opt_out_start_ms,omitempty"`
	OptOutEndMs   int64  `json:"opt_out_end_ms,omitempty"`
	// Paused stops the home steering its devices: they run on their own
	// defaults and the home offers nothing, until the owner resumes or,
	// when PauseUntilMs is set (Unix ms), until then.
	Paused       bool  `json:"paused"`
	PauseUntilMs int64 `json:"pause_until_ms,omitempty"`
}

// Validate checks the reserve's range and that the times are consistent.
func (s OwnerSettings) Validate() error {
	var errs []error
	if math.IsNaN(s.ReservePct) || s.ReservePct < 0 || s.ReservePct > 100 {
		errs = append(errs, fmt.Errorf("reserve %v %% outside [0, 100]", s.ReservePct))
	}
	if s.OptOutEvent != "" && (!s.OptOutNext || s.OptOutEndMs <= s.OptOutStartMs) {
		errs = append(errs, fmt.Errorf("opt-out event %q needs opt_out_next and start < end", s.OptOutEvent))
	}
	if s.PauseUntilMs < 0 || s.PauseUntilMs != 0 && !s.Paused {
		errs = append(errs, errors.New("pause_until_ms set without paused"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: owner settings: %w", gridmesh.ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// OwnerChange is a change an owner asks for; nil fields stay as they are.
type OwnerChange struct {
	ReservePct *float64 `json:"reserve_pct,omitempty"`
	// OptOutNext true opts out of the next event; false opts back in.
	OptOutNext *bool `json:"opt_out_next,omitempty"`
	// Paused true pauses steering, for PauseFor when it is given (a Go
	// duration such as "2h"), else until resumed; false resumes.
	Paused   *bool  `json:"paused,omitempty"`
	PauseFor string `json:"pause_for,omitempty"`
}

// MaxPause bounds a timed pause: a week covers a holiday, and a pause
// nobody remembers ends by itself.
const MaxPause = 7 * 24 * time.Hour

// ApplyOwnerChange returns s with c applied at now, or an error (wrapping
// gridmesh.ErrInvalid) naming what is wrong with c; s is then unchanged.
func ApplyOwnerChange(s OwnerSettings, c OwnerChange, now time.Time) (OwnerSettings, error) {
	if c.ReservePct != nil {
		s.ReservePct = *c.ReservePct
	}
	if c.OptOutNext != nil && *c.OptOutNext != s.OptOutNext {
		s.OptOutNext = *c.OptOutNext
		s.OptOutEvent, s.OptOutStartMs, s.OptOutEndMs = "", 0, 0
	}
	if c.PauseFor != "" && (c.Paused == nil || !*c.Paused) {
		return s, fmt.Errorf("%w: pause_for needs paused true", gridmesh.ErrInvalid)
	}
	if c.Paused != nil {
		s.Paused, s.PauseUntilMs = *c.Paused, 0
		if c.PauseFor != "" {
			d, err := time.ParseDuration(c.PauseFor)
			if err != nil || d <= 0 || d > MaxPause {
				return s, fmt.Errorf("%w: pause_for %q: want a duration in (0, %v]", gridmesh.ErrInvalid, c.PauseFor, MaxPause)
			}
			s.PauseUntilMs = now.Add(d).UnixMilli()
		}
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

// DemandEvent is a demand-response event a home knows of: an operator's
// import cut over [StartMs, EndMs) (Unix ms).
type DemandEvent struct {
	ID             string
	StartMs, EndMs int64
}

// DemandEvents are the import cuts among a region's signals.
func DemandEvents(signals []RegionSignal) []DemandEvent {
	var out []DemandEvent
	for _, rs := range signals {
		if s := rs.Signal; s.Kind == gridmesh.SignalCutImport {
			out = append(out, DemandEvent{ID: s.ID, StartMs: s.StartMs, EndMs: s.EndMs})
		}
	}
	return out
}

// SettleOwner moves s on to now: an opt-out of the next event binds to
// the event in force or else the earliest to start among events (ties
// by ID), and ends once that event has ended; a timed pause ends at its
// end. It returns s unchanged when nothing is due.
func SettleOwner(s OwnerSettings, events []DemandEvent, now time.Time) OwnerSettings {
	ms := now.UnixMilli()
	if s.Paused && s.PauseUntilMs != 0 && ms >= s.PauseUntilMs {
		s.Paused, s.PauseUntilMs = false, 0
	}
	if s.OptOutNext && s.OptOutEvent != "" && ms >= s.OptOutEndMs {
		s.OptOutNext = false
		s.OptOutEvent, s.OptOutStartMs, s.OptOutEndMs = "", 0, 0
	}
	if s.OptOutNext && s.OptOutEvent == "" {
		var next *DemandEvent
		for i, e := range events {
			if e.EndMs <= ms || e.EndMs <= e.StartMs {
				continue
			}
			if next == nil || e.StartMs < next.StartMs || e.StartMs == next.StartMs && e.ID < next.ID {
				next = &events[i]
			}
		}
		if next != nil {
			s.OptOutEvent, s.OptOutStartMs, s.OptOutEndMs = next.ID, next.StartMs, next.EndMs
		}
	}
	return s
}

// OwnerEffect is what the owner's settings make the home do at one
// moment.
type OwnerEffect struct {
	// Release: the home commands no device and hands them back to their
	// own control (paused).
	Release bool
	// OwnAim: the home follows no plan's setpoint; its loop self-consumes.
	OwnAim bool
	// OfferNothing: the home offers its neighborhood no flexibility.
	OfferNothing bool
	// Reason is "paused", "opted_out" or "" (steered as usual).
	Reason string
}

// DecideOwner is the effect of settled settings s at now (SettleOwner
// first): a paused home releases its devices, follows no plan and offers
// nothing; a home opted out of the event in force follows no plan (it
// self-consumes) and offers nothing; any other follows its plans.
func DecideOwner(s OwnerSettings, now time.Time) OwnerEffect {
	ms := now.UnixMilli()
	switch {
	case s.Paused && (s.PauseUntilMs == 0 || ms < s.PauseUntilMs):
		return OwnerEffect{Release: true, OwnAim: true, OfferNothing: true, Reason: "paused"}
	case s.OptOutNext && s.OptOutEvent != "" && ms >= s.OptOutStartMs && ms < s.OptOutEndMs:
		return OwnerEffect{OwnAim: true, OfferNothing: true, Reason: "opted_out"}
	}
	return OwnerEffect{}
}

// OwnerLimits is the battery's flexibility as the owner lets the home use
// it: while the grid is up, what lies below ReservePct of the capacity
// may not be discharged (DischargeWh falls by it, and once nothing is
// left above it MinW is 0). An islanded home (gridUp false) may use its
// reserve. PowerW, SoC and the charge side are unchanged.
func OwnerLimits(s OwnerSettings, f gridmesh.Flexibility, gridUp bool) gridmesh.Flexibility {
	if !gridUp || !(s.ReservePct > 0) || f.CapacityWh <= 0 {
		return f
	}
	floorWh := f.CapacityWh * gridmesh.Wh(s.ReservePct/100)
	heldWh := f.CapacityWh * gridmesh.Wh(f.SoC)
	f.DischargeWh = min(f.DischargeWh, max(heldWh-floorWh, 0))
	if f.DischargeWh <= 0 {
		f.DischargeWh, f.MinW = 0, 0
	}
	return f
}

// OwnerOffer is the flexibility the home reports to its neighborhood:
// limited (OwnerLimits) as it is, or none when e says to offer nothing
// (no power either way, no energy to give or take; its power, charge
// and capacity as they are).
func OwnerOffer(e OwnerEffect, limited gridmesh.Flexibility) gridmesh.Flexibility {
	if e.OfferNothing {
		limited.MinW, limited.MaxW, limited.ChargeWh, limited.DischargeWh = 0, 0, 0, 0
	}
	return limited
}
