package sim

import (
	"fmt"
	"math"
)

// Grid is the state of the grid at the home's connection point, as the
// meter measures it. The testnet's feeder model sets it (Meter.SetGrid);
// a home on its own sits on DefaultGrid.
type Grid struct {
	// VoltageV is the RMS voltage.
	VoltageV float64
	// FrequencyHz is the grid frequency.
	FrequencyHz float64
	// Up is false while the grid is gone (islanded or blacked out).
	Up bool
}

// Bounds a Grid must keep: far beyond anything a real low-voltage grid
// shows, they only keep nonsense (and overflow) out of the meter.
const (
	maxGridVoltageV    = 1_000
	maxGridFrequencyHz = 100
)

// Dead reports whether the bus is dead: no grid and no voltage (a feeder
// blacked out). Nothing in the home has power then: the loads, the
// charger and the heat pump draw nothing and the PV inverter is off.
func (g Grid) Dead() bool { return !g.Up && g.VoltageV == 0 }

// DefaultGrid is a healthy European low-voltage grid: 230 V, 50 Hz.
func DefaultGrid() Grid { return Grid{VoltageV: 230, FrequencyHz: 50, Up: true} }

// Validate checks that voltage and frequency are finite and in range. A
// grid that is down may read 0 V and 0 Hz.
func (g Grid) Validate() error {
	if math.IsNaN(g.VoltageV) || g.VoltageV < 0 || g.VoltageV > maxGridVoltageV {
		return fmt.Errorf("%w: grid voltage %v V outside [0, %v]", ErrInvalidParams, g.VoltageV, maxGridVoltageV)
	}
	if math.IsNaN(g.FrequencyHz) || g.FrequencyHz < 0 || g.FrequencyHz > maxGridFrequencyHz {
		return fmt.Errorf("%w: grid frequency %v Hz outside [0, %v]", ErrInvalidParams, g.FrequencyHz, maxGridFrequencyHz)
	}
	return nil
}
