package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// BatteryParams describes a home battery: its capacity, power limits and
// losses.
type BatteryParams struct {
	// CapacityWh is the usable energy stored when the battery is full.
	CapacityWh gridmesh.Wh
	// MaxChargeW is the largest charging power, a positive magnitude.
	MaxChargeW gridmesh.W
	// MaxDischargeW is the largest discharging power, a positive magnitude.
	MaxDischargeW gridmesh.W
	// RoundTripEfficiency is the share of the energy charged that can be
	// discharged again, in (0, 1]. The loss is split evenly: a factor
	// sqrt(RoundTripEfficiency) on the way in and again on the way out.
	RoundTripEfficiency float64
	// ReserveSoC is the state of charge kept back for outages, 0..1: the
	// battery does not discharge below it unless the reserve is usable
	// (BatteryState.ReserveUsable), as it is for an islanded home. 0 keeps
	// no reserve.
	ReserveSoC float64
	// Hardware is how the battery answers commands and reports its power
	// (ramp, delay, noise); the zero value is ideal.
	Hardware BatteryHardware
}

// BatteryState is a battery's state at an instant.
type BatteryState struct {
	// StoredWh is the energy in storage, 0..CapacityWh.
	StoredWh gridmesh.Wh
	// PowerW is the power actually delivered (positive: charging). After
	// Step over an interval it is the mean power over that interval.
	PowerW gridmesh.W
	// ReserveUsable lets the battery discharge into its backup reserve
	// (BatteryParams.ReserveSoC). Step carries it over unchanged.
	ReserveUsable bool
}

// Validate checks that every figure is finite, positive and in the range
// the gridmesh messages can carry.
func (p BatteryParams) Validate() error {
	if !p.CapacityWh.Finite() || p.CapacityWh <= 0 || p.CapacityWh > gridmesh.MaxHomeEnergyWh {
		return fmt.Errorf("%w: battery capacity %v Wh outside (0, %v]", ErrInvalidParams, float64(p.CapacityWh), float64(gridmesh.MaxHomeEnergyWh))
	}
	for _, w := range []gridmesh.W{p.MaxChargeW, p.MaxDischargeW} {
		if !w.Finite() || w <= 0 || w > gridmesh.MaxHomePowerW {
			return fmt.Errorf("%w: battery power limit %v outside (0, %v]", ErrInvalidParams, w, gridmesh.MaxHomePowerW)
		}
	}
	if e := p.RoundTripEfficiency; math.IsNaN(e) || e <= 0 || e > 1 {
		return fmt.Errorf("%w: round-trip efficiency %v outside (0, 1]", ErrInvalidParams, e)
	}
	if r := p.ReserveSoC; math.IsNaN(r) || r < 0 || r > 1 {
		return fmt.Errorf("%w: backup reserve %v outside [0, 1]", ErrInvalidParams, r)
	}
	return p.Hardware.Validate()
}

// Step integrates the battery over dt under a constant command and returns
// the state at the end of the interval.
//
// The command is clamped to [-MaxDischargeW, MaxChargeW]; a non-finite
// command counts as 0. Charging at P for dt stores P*dt*sqrt(eff);
// discharging at P for dt draws P*dt/sqrt(eff) from storage. When the
// energy would pass a bound (full, or empty: the backup reserve unless
// s.ReserveUsable) the power is reduced so the battery lands exactly at
// the bound; the returned PowerW is the power actually delivered over dt.
// With dt <= 0 nothing is integrated and PowerW is the power the battery
// delivers at this instant: the clamped command, or 0 when it is full and
// told to charge or at its floor and told to discharge. A StoredWh outside
// [0, CapacityWh] is first brought inside; one below the reserve stays
// there until charged (or the reserve becomes usable).
func (p BatteryParams) Step(s BatteryState, commandW gridmesh.W, dt time.Duration) BatteryState {
	stored := p.clampStored(s.StoredWh)
	floor := p.floor(s)
	w := p.powerAt(stored, floor, commandW)
	next := BatteryState{StoredWh: stored, PowerW: w, ReserveUsable: s.ReserveUsable}
	if dt <= 0 || w == 0 {
		return next
	}
	h := dt.Hours()
	eta := math.Sqrt(p.RoundTripEfficiency)
	if w > 0 {
		room := p.CapacityWh - stored
		gain := gridmesh.Wh(float64(w) * h * eta)
		if gain >= room {
			next.StoredWh, next.PowerW = p.CapacityWh, gridmesh.W(float64(room)/(h*eta))
			return next
		}
		stored += gain
	} else {
		avail := stored - floor
		draw := gridmesh.Wh(-float64(w) * h / eta)
		if draw >= avail {
			next.StoredWh, next.PowerW = floor, -gridmesh.W(float64(avail)*eta/h)
			return next
		}
		stored -= draw
	}
	next.StoredWh = p.clampStored(stored)
	return next
}

// Flexibility reports what the battery can do in state s. MinW is
// -MaxDischargeW, or 0 at its floor (empty, or at the backup reserve
// unless s.ReserveUsable); MaxW is MaxChargeW, or 0 when full. ChargeWh
// and DischargeWh are measured at the home's bus, after losses: the
// energy it can still take in, and the energy it can still deliver before
// its floor. SoC is the true state of charge, reserve included. PowerW is
// s.PowerW as the battery can deliver it in state s (see Step with
// dt <= 0).
func (p BatteryParams) Flexibility(s BatteryState) gridmesh.Flexibility {
	stored := p.clampStored(s.StoredWh)
	floor := p.floor(s)
	eta := math.Sqrt(p.RoundTripEfficiency)
	f := gridmesh.Flexibility{
		PowerW:      p.powerAt(stored, floor, s.PowerW),
		SoC:         min(max(float64(stored/p.CapacityWh), 0), 1),
		CapacityWh:  p.CapacityWh,
		ChargeWh:    gridmesh.Wh(float64(p.CapacityWh-stored) / eta),
		DischargeWh: gridmesh.Wh(float64(max(stored-floor, 0)) * eta),
	}
	if stored > floor {
		f.MinW = -p.MaxDischargeW
	}
	if stored < p.CapacityWh {
		f.MaxW = p.MaxChargeW
	}
	return f
}

// floor is the least energy the battery may discharge to in state s: the
// backup reserve, or 0 while the reserve is usable.
func (p BatteryParams) floor(s BatteryState) gridmesh.Wh {
	if s.ReserveUsable || math.IsNaN(p.ReserveSoC) {
		return 0
	}
	return p.clampStored(gridmesh.Wh(p.ReserveSoC) * p.CapacityWh)
}

// powerAt is the power the battery delivers at an instant with stored
// energy under a command: the command within the power limits, and 0 in a
// direction where no energy (above floor) or no room is left.
func (p BatteryParams) powerAt(stored, floor gridmesh.Wh, commandW gridmesh.W) gridmesh.W {
	if !commandW.Finite() {
		return 0
	}
	w := commandW.Clamp(-p.MaxDischargeW, p.MaxChargeW)
	if w > 0 && stored >= p.CapacityWh || w < 0 && stored <= floor {
		return 0
	}
	return w
}

// clampStored brings a stored energy into [0, CapacityWh]; NaN counts as
// empty.
func (p BatteryParams) clampStored(e gridmesh.Wh) gridmesh.Wh {
	if math.IsNaN(float64(e)) {
		return 0
	}
	return min(max(e, 0), p.CapacityWh)
}
