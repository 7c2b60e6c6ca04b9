package sim

import (
	"fmt"
	"math"
)

// HomeParams describes one simulated home: its battery and where it
// starts, its PV array and its household load.
type HomeParams struct {
	// Battery is the home battery.
	Battery BatteryParams
	// InitialSoC is the battery's state of charge when the home starts,
	// 0..1.
	InitialSoC float64
	// PV is the rooftop array.
	PV PVParams
	// Load is the household's consumption.
	Load LoadParams
}

// Validate checks every part of the home.
func (p HomeParams) Validate() error {
	if err := p.Battery.Validate(); err != nil {
		return err
	}
	if math.IsNaN(p.InitialSoC) || p.InitialSoC < 0 || p.InitialSoC > 1 {
		return fmt.Errorf("%w: initial state of charge %v outside [0, 1]", ErrInvalidParams, p.InitialSoC)
	}
	if err := p.PV.Validate(); err != nil {
		return err
	}
	return p.Load.Validate()
}

// Full returns the same home as FullHomeParams: a battery, PV and a load,
// no charger or heat pump.
func (p HomeParams) Full() FullHomeParams {
	b, pv, l := p.Battery, p.PV, p.Load
	return FullHomeParams{Battery: &b, InitialSoC: p.InitialSoC, PV: &pv, Load: &l}
}

// FullHomeParams describes a simulated home with any of its devices; a
// nil device is absent. Every home has a grid meter.
type FullHomeParams struct {
	// Battery is the home battery.
	Battery *BatteryParams
	// InitialSoC is the battery's state of charge when the home starts,
	// 0..1 (ignored without a battery).
	InitialSoC float64
	// PV is the rooftop array and its inverter.
	PV *PVParams
	// Charger is the EV charger and its car.
	Charger *ChargerParams
	// HeatPump is the heat pump and the house it heats.
	HeatPump *HeatPumpParams
	// InitialIndoorC is the house's temperature when the home starts,
	// inside the heat pump's comfort band (ignored without a heat pump).
	InitialIndoorC float64
	// Load is the household's consumption.
	Load *LoadParams
}

// Validate checks every device present.
func (p FullHomeParams) Validate() error {
	if b := p.Battery; b != nil {
		if err := b.Validate(); err != nil {
			return err
		}
		if math.IsNaN(p.InitialSoC) || p.InitialSoC < 0 || p.InitialSoC > 1 {
			return fmt.Errorf("%w: initial state of charge %v outside [0, 1]", ErrInvalidParams, p.InitialSoC)
		}
	}
	if p.PV != nil {
		if err := p.PV.Validate(); err != nil {
			return err
		}
	}
	if p.Charger != nil {
		if err := p.Charger.Validate(); err != nil {
			return err
		}
	}
	if hp := p.HeatPump; hp != nil {
		if err := hp.Validate(); err != nil {
			return err
		}
		if !(p.InitialIndoorC >= hp.BandLowC && p.InitialIndoorC <= hp.BandHighC) {
			return fmt.Errorf("%w: initial indoor %v °C outside the comfort band [%v, %v]", ErrInvalidParams, p.InitialIndoorC, hp.BandLowC, hp.BandHighC)
		}
	}
	if p.Load != nil {
		return p.Load.Validate()
	}
	return nil
}
