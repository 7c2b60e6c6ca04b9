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
