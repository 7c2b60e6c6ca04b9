package control

import (
	"errors"
	"fmt"
	"math"

	"github.com/gridmesh/gridmesh"
)

// ErrBadDroopConfig is wrapped by every droop configuration error.
var ErrBadDroopConfig = errors.New("control: bad droop config")

// DroopConfig is a frequency droop curve: the primary response a home's
// battery gives to a grid frequency deviation, with no network, on the
// loop's next tick.
//
// Inside ±DeadbandHz of NominalHz there is no response; from there the
// response grows linearly to the battery's whole range at ±FullAtHz, and
// stays there beyond. Low frequency (too little generation) discharges,
// high frequency charges.
type DroopConfig struct {
	// NominalHz is the grid's nominal frequency.
	NominalHz float64
	// DeadbandHz is the deviation answered with nothing.
	DeadbandHz float64
	// FullAtHz is the deviation answered with the battery's whole range in
	// that direction.
	FullAtHz float64
}

// Defaults: the shape of National Grid ESO's Dynamic Containment, the GB
// fast frequency response service batteries sell today.
const (
	// DefaultNominalHz: Europe and GB run at 50 Hz.
	DefaultNominalHz = 50.0
	// DefaultDeadbandHz: Dynamic Containment's ±0.015 Hz deadband, inside
	// which frequency is left to ordinary balancing and meters' noise.
	DefaultDeadbandHz = 0.015
	// DefaultFullAtHz: Dynamic Containment delivers full power at ±0.5 Hz,
	// GB's statutory frequency limit. (DC itself bends at ±0.2 Hz, having
	// delivered 5% by then; this curve is the straight line between the
	// deadband and full power, which responds more to small deviations.)
	DefaultFullAtHz = 0.5
)

// maxPlausibleFrequencyFraction bounds a frequency reading that is
// answered at all (10% of nominal, e.g. 45-55 Hz): grid-connected
// inverters disconnect far inside that (G99: 47.5-52 Hz), so a reading
// beyond it is a broken sensor or a meter reporting 0 for "not measured",
// and answering it with full power would be the worst thing to do.
const maxPlausibleFrequencyFraction = 0.1

// DefaultDroopConfig returns the Dynamic Containment shape on a 50 Hz grid.
func DefaultDroopConfig() DroopConfig {
	return DroopConfig{NominalHz: DefaultNominalHz, DeadbandHz: DefaultDeadbandHz, FullAtHz: DefaultFullAtHz}
}

// Validate checks that the curve is well formed: a finite positive
// nominal frequency, 0 ≤ DeadbandHz < FullAtHz, and full response reached
// within the plausible band (10% of nominal).
func (c DroopConfig) Validate() error {
	return validateCurve("droop", c.NominalHz, c.DeadbandHz, c.FullAtHz, maxPlausibleFrequencyFraction)
}

// Droop returns the battery power adjustment the frequency freqHz asks
// for: 0 inside the deadband, f·battery.MinW (a discharge) below nominal
// and f·battery.MaxW (a charge) above it, where f grows linearly from 0 at
// the deadband's edge to 1 at FullAtHz. The caller adds it to the power
// it would command otherwise and clamps the sum to the battery's range,
// as the loop does with every command; the adjustment alone never leaves
// [MinW, MaxW].
//
// It is a pure function. A frequency that is not a number, not finite or
// outside 10% of nominal (a meter reports 0 when it does not measure),
// a battery range that is not finite or does not contain 0, or an invalid
// cfg all yield 0: a bad reading never moves the battery.
func Droop(cfg DroopConfig, freqHz float64, battery gridmesh.Flexibility) gridmesh.W {
	if cfg.Validate() != nil {
		return 0
	}
	return respond(cfg.NominalHz, cfg.DeadbandHz, cfg.FullAtHz, maxPlausibleFrequencyFraction, freqHz, battery)
}

// VoltWattConfig is the voltage analogue of DroopConfig: active power
// against the home's supply voltage. On a low-voltage feeder, whose
// resistance outweighs its reactance, active power moves voltage most: a
// battery that discharges when the voltage sags and charges when it
// swells (PV on a sunny noon) holds the feeder inside its limits.
type VoltWattConfig struct {
	// NominalV is the nominal phase voltage.
	NominalV float64
	// DeadbandV is the deviation answered with nothing.
	DeadbandV float64
	// FullAtV is the deviation answered with the battery's whole range.
	FullAtV float64
}

// Volt-watt defaults for a European 230 V supply.
const (
	// DefaultNominalV: 230 V phase-to-neutral (EN 50160).
	DefaultNominalV = 230.0
	// DefaultDeadbandV: ±10 V (220-240 V), the volt-var deadband of AS/NZS
	// 4777.2:2020: normal tap-changer and load variation, not ours to fight.
	DefaultDeadbandV = 10.0
	// DefaultFullAtV: ±23 V (±10%), EN 50160's limit for a supply: at the
	// edge of legality the battery gives all it has.
	DefaultFullAtV = 23.0
)

// maxPlausibleVoltageFraction bounds a voltage reading that is answered
// (30% of nominal): sags deeper than that are faults that protection
// clears, or a meter reporting 0 for "not measured".
const maxPlausibleVoltageFraction = 0.3

// DefaultVoltWattConfig returns the 230 V curve.
func DefaultVoltWattConfig() VoltWattConfig {
	return VoltWattConfig{NominalV: DefaultNominalV, DeadbandV: DefaultDeadbandV, FullAtV: DefaultFullAtV}
}

// Validate checks the curve as DroopConfig.Validate does, with full
// response reached within 30% of nominal.
func (c VoltWattConfig) Validate() error {
	return validateCurve("volt-watt", c.NominalV, c.DeadbandV, c.FullAtV, maxPlausibleVoltageFraction)
}

// VoltWatt returns the battery power adjustment the voltage voltageV asks
// for, exactly as Droop does for frequency: low voltage discharges, high
// voltage charges, 0 for a bad reading or config.
func VoltWatt(cfg VoltWattConfig, voltageV float64, battery gridmesh.Flexibility) gridmesh.W {
	if cfg.Validate() != nil {
		return 0
	}
	return respond(cfg.NominalV, cfg.DeadbandV, cfg.FullAtV, maxPlausibleVoltageFraction, voltageV, battery)
}

// validateCurve checks a deadband-then-linear curve around nominal.
func validateCurve(name string, nominal, deadband, fullAt, plausible float64) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(nominal) || nominal <= 0:
		return fmt.Errorf("%w: %s nominal %v must be positive", ErrBadDroopConfig, name, nominal)
	case !finite(deadband) || deadband < 0:
		return fmt.Errorf("%w: %s deadband %v must be 0 or more", ErrBadDroopConfig, name, deadband)
	case !finite(fullAt) || fullAt <= deadband:
		return fmt.Errorf("%w: %s full response at %v must be beyond the deadband %v", ErrBadDroopConfig, name, fullAt, deadband)
	case fullAt > plausible*nominal:
		return fmt.Errorf("%w: %s full response at %v beyond %v%% of nominal, where readings are refused", ErrBadDroopConfig, name, fullAt, plausible*100)
	}
	return nil
}

// respond is the curve: the response fraction of the measured deviation,
// times the battery's range in that direction.
func respond(nominal, deadband, fullAt, plausible, measured float64, battery gridmesh.Flexibility) gridmesh.W {
	dev := measured - nominal
	if math.IsNaN(dev) || math.Abs(dev) > plausible*nominal || !battery.MinW.Finite() || !battery.MaxW.Finite() ||
		battery.MinW > 0 || battery.MaxW < 0 {
		return 0
	}
	f := min(max((math.Abs(dev)-deadband)/(fullAt-deadband), 0), 1)
	if dev < 0 {
		return gridmesh.W(f) * battery.MinW
	}
	return gridmesh.W(f) * battery.MaxW
}
