package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// HeatPumpParams describes a heat pump and the house it heats.
//
// The house is one thermal mass (a first-order RC model): with indoor
// temperature T, outdoor temperature Tout and electrical power P,
//
//	CapacityWhPerK * dT/dt = LossWPerK * (Tout - T) + COP * P
//
// so with P and Tout held the house settles exponentially, with time
// constant CapacityWhPerK/LossWPerK hours, on Tout + COP*P/LossWPerK.
// The outdoor temperature follows a daily curve, coldest at 03:00 and
// warmest at 15:00 local time.
//
// Before it is told anything the heat pump runs as a thermostat that
// switches between MaxW and off around the middle of the comfort band
// [BandLowC, BandHighC], HysteresisC apart, and comfort comes first: below
// the band it runs at MaxW until the house is HysteresisC above BandLowC.
//
// Once told a power (SetHeatPumpPower) it runs as told, also below the
// comfort band: a controller that turns it off in a cold house means it,
// as a utility's block signal does (SG Ready's state 1), and an islanded
// home shedding its heat pump relies on that. Two overrides remain,
// whatever it is told: above the band it is off until the house is
// HysteresisC below BandHighC, and at FrostC (frost protection) it runs
// at MaxW until the house is HysteresisC above it.
type HeatPumpParams struct {
	// MaxW is the most electrical power it draws.
	MaxW gridmesh.W
	// COP is the heat delivered per unit of electrical energy (a
	// coefficient of performance held constant, 1..10).
	COP float64
	// LossWPerK is the house's heat loss per kelvin between inside and
	// out (its UA value; R = 1/LossWPerK).
	LossWPerK gridmesh.W
	// CapacityWhPerK is the house's heat capacity (C), in Wh per kelvin.
	CapacityWhPerK gridmesh.Wh
	// BandLowC and BandHighC bound the comfort band, in °C.
	BandLowC, BandHighC float64
	// HysteresisC is the thermostat's switching gap, in (0, band/2].
	HysteresisC float64
	// FrostC is the frost protection, in °C below BandLowC: a heat pump
	// told to stay off still heats a house this cold (the zero value
	// protects at 0 °C).
	FrostC float64
	// The outdoor temperature swings OutdoorSwingC either side of
	// OutdoorMeanC over the day, in °C.
	OutdoorMeanC, OutdoorSwingC float64
}

// Bounds on a heat pump's parameters: beyond them the model means
// nothing for a home.
const (
	maxCOP             = 10
	maxLossWPerK       = 10_000    // a barn with the doors open
	maxCapacityWhPerK  = 1_000_000 // a castle
	minTempC, maxTempC = -60.0, 60.0
)

// heatPumpSegment is the longest stretch Step integrates with the outdoor
// temperature held: a minute, over which a daily curve moves by at most
// a few hundredths of a kelvin.
const heatPumpSegment = time.Minute

// heatPumpEvents bounds the thermostat switchings Step resolves exactly
// within one segment; past it (never, with a sane hysteresis) the rest of
// the segment is integrated without switching.
const heatPumpEvents = 64

// Validate checks every figure, the band and the hysteresis.
func (p HeatPumpParams) Validate() error {
	if !p.MaxW.Finite() || p.MaxW <= 0 || p.MaxW > gridmesh.MaxHomePowerW {
		return fmt.Errorf("%w: heat pump power %v outside (0, %v]", ErrInvalidParams, p.MaxW, gridmesh.MaxHomePowerW)
	}
	if math.IsNaN(p.COP) || p.COP < 1 || p.COP > maxCOP {
		return fmt.Errorf("%w: COP %v outside [1, %v]", ErrInvalidParams, p.COP, maxCOP)
	}
	if !p.LossWPerK.Finite() || p.LossWPerK <= 0 || p.LossWPerK > maxLossWPerK {
		return fmt.Errorf("%w: heat loss %v W/K outside (0, %v]", ErrInvalidParams, float64(p.LossWPerK), maxLossWPerK)
	}
	if !p.CapacityWhPerK.Finite() || p.CapacityWhPerK <= 0 || p.CapacityWhPerK > maxCapacityWhPerK {
		return fmt.Errorf("%w: heat capacity %v Wh/K outside (0, %v]", ErrInvalidParams, float64(p.CapacityWhPerK), maxCapacityWhPerK)
	}
	if !(minTempC <= p.BandLowC && p.BandLowC < p.BandHighC && p.BandHighC <= maxTempC) {
		return fmt.Errorf("%w: comfort band [%v, %v] °C not within [%v, %v]", ErrInvalidParams, p.BandLowC, p.BandHighC, minTempC, maxTempC)
	}
	if !(minTempC <= p.FrostC && p.FrostC < p.BandLowC) {
		return fmt.Errorf("%w: frost protection %v °C not within [%v, %v)", ErrInvalidParams, p.FrostC, minTempC, p.BandLowC)
	}
	if !(p.HysteresisC > 0 && p.HysteresisC <= (p.BandHighC-p.BandLowC)/2) {
		return fmt.Errorf("%w: hysteresis %v K outside (0, half the band]", ErrInvalidParams, p.HysteresisC)
	}
	if !(p.OutdoorSwingC >= 0 && p.OutdoorMeanC-p.OutdoorSwingC >= minTempC && p.OutdoorMeanC+p.OutdoorSwingC <= maxTempC) {
		return fmt.Errorf("%w: outdoor %v ± %v °C not within [%v, %v]", ErrInvalidParams, p.OutdoorMeanC, p.OutdoorSwingC, minTempC, maxTempC)
	}
	return nil
}

// OutdoorAt is the outdoor temperature at t, a pure function of t's
// wall-clock hour in its location.
func (p HeatPumpParams) OutdoorAt(t time.Time) float64 {
	return p.OutdoorMeanC - p.OutdoorSwingC*math.Cos(2*math.Pi*(hourOfDay(t)-3)/24)
}

// Recovery is what a heat pump outside its comfort band does about it.
type Recovery int8

const (
	// RecoveryNone: inside the band, the command or thermostat rules.
	RecoveryNone Recovery = iota
	// RecoveryHeating: the house fell to BandLowC; full power until it is
	// HysteresisC above it, unless the heat pump has been told a power.
	RecoveryHeating
	// RecoveryIdle: the house rose to BandHighC; off until it is
	// HysteresisC below it.
	RecoveryIdle
)

// ThermalState is a heat pump and its house at an instant.
type ThermalState struct {
	// IndoorC is the house's temperature.
	IndoorC float64
	// PowerW is the electrical power drawn at that instant.
	PowerW gridmesh.W
	// Heating is the default thermostat's latch: on below the middle of
	// the band less half the hysteresis, off above it plus half.
	Heating bool
	// Recovery says whether comfort overrides the command.
	Recovery Recovery
	// Frost is true from the house reaching FrostC until it is
	// HysteresisC above it: the heat pump runs at MaxW whatever it is
	// told.
	Frost bool
	// UsedWh is the electrical energy drawn since the state began.
	UsedWh gridmesh.Wh
}

// HeatPumpCommand is what the heat pump is told to do. The zero value is
// the default thermostat.
type HeatPumpCommand struct {
	// Manual is true once the heat pump has been given a power.
	Manual bool
	// PowerW is that power, clamped to [0, MaxW]; a non-finite one is 0.
	PowerW gridmesh.W
	// Unpowered is true while the heat pump has no supply (a dead bus):
	// it draws nothing, frost protection or not.
	Unpowered bool
}

// Step integrates the house and heat pump from at over dt under a
// constant command and returns the state at at+dt. Switching (thermostat,
// comfort override) happens exactly when the temperature reaches a
// threshold. PowerW is the power at the end of the interval. A non-finite
// IndoorC counts as the middle of the band.
func (p HeatPumpParams) Step(s ThermalState, cmd HeatPumpCommand, at time.Time, dt time.Duration) ThermalState {
	if math.IsNaN(s.IndoorC) || math.IsInf(s.IndoorC, 0) {
		s.IndoorC = (p.BandLowC + p.BandHighC) / 2
	}
	s = p.latch(s)
	end := at.Add(max(dt, 0))
	tauH := float64(p.CapacityWhPerK / gridmesh.Wh(p.LossWPerK))
	for at.Before(end) {
		seg := minTime(at.Add(heatPumpSegment), end)
		out := p.OutdoorAt(at.Add(seg.Sub(at) / 2))
		for n := 0; at.Before(seg); n++ {
			w := p.power(s, cmd)
			eq := out + p.COP*float64(w)/float64(p.LossWPerK)
			left := seg.Sub(at)
			if n < heatPumpEvents {
				if c, ok := p.nextThreshold(s.IndoorC, eq); ok {
					// T(t) = eq + (T0-eq) e^(-t/tau) reaches c at t = tau ln((T0-eq)/(c-eq)).
					if d := hours(tauH * math.Log((s.IndoorC-eq)/(c-eq))); d < left {
						s.IndoorC, s.UsedWh = c, s.UsedWh+gridmesh.Wh(float64(w)*d.Hours())
						s = p.latch(s)
						at = at.Add(d)
						continue
					}
				}
			}
			s.IndoorC = eq + (s.IndoorC-eq)*math.Exp(-left.Hours()/tauH)
			s.UsedWh += gridmesh.Wh(float64(w) * left.Hours())
			s = p.latch(s)
			at = seg
		}
	}
	s.PowerW = p.power(s, cmd)
	return s
}

// Reading is the heat pump as its driver reports it in state s at t.
func (p HeatPumpParams) Reading(s ThermalState, t time.Time) gridmesh.HeatPumpState {
	return gridmesh.HeatPumpState{
		PowerW: s.PowerW, MaxW: p.MaxW,
		IndoorC: s.IndoorC, OutdoorC: p.OutdoorAt(t),
		BandLowC: p.BandLowC, BandHighC: p.BandHighC,
	}
}

// power is the electrical power drawn in state s under cmd.
func (p HeatPumpParams) power(s ThermalState, cmd HeatPumpCommand) gridmesh.W {
	switch {
	case cmd.Unpowered:
		return 0
	case s.Frost:
		return p.MaxW
	case s.Recovery == RecoveryHeating && !cmd.Manual:
		return p.MaxW
	case s.Recovery == RecoveryIdle:
		return 0
	case cmd.Manual:
		if !cmd.PowerW.Finite() {
			return 0
		}
		return cmd.PowerW.Clamp(0, p.MaxW)
	case s.Heating:
		return p.MaxW
	}
	return 0
}

// latch updates the comfort override and the thermostat for s.IndoorC.
func (p HeatPumpParams) latch(s ThermalState) ThermalState {
	t, h := s.IndoorC, p.HysteresisC
	switch {
	case t <= p.BandLowC:
		s.Recovery = RecoveryHeating
	case t >= p.BandHighC:
		s.Recovery = RecoveryIdle
	case s.Recovery == RecoveryHeating && t >= p.BandLowC+h, s.Recovery == RecoveryIdle && t <= p.BandHighC-h:
		s.Recovery = RecoveryNone
	}
	switch {
	case t <= p.FrostC:
		s.Frost = true
	case t >= p.FrostC+h:
		s.Frost = false
	}
	mid := (p.BandLowC + p.BandHighC) / 2
	switch {
	case t <= mid-h/2:
		s.Heating = true
	case t >= mid+h/2:
		s.Heating = false
	}
	return s
}

// nextThreshold is the nearest temperature at which latch may switch that
// the house reaches on its way from t towards eq, if any.
func (p HeatPumpParams) nextThreshold(t, eq float64) (float64, bool) {
	h, mid := p.HysteresisC, (p.BandLowC+p.BandHighC)/2
	best, ok := 0.0, false
	for _, c := range [...]float64{p.BandLowC, p.BandHighC, p.BandLowC + h, p.BandHighC - h, mid - h/2, mid + h/2, p.FrostC, p.FrostC + h} {
		ahead := eq > t && c > t && c < eq || eq < t && c < t && c > eq
		if ahead && (!ok || math.Abs(c-t) < math.Abs(best-t)) {
			best, ok = c, true
		}
	}
	return best, ok
}
