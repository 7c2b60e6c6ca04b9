package control

import (
	"fmt"

	"github.com/gridmesh/gridmesh"
)

// Mode says what the loop is following.
type Mode uint8

const (
	// ModeAutonomous: no plan steers this home; the battery keeps the net
	// import at LoopConfig.InitialAimW before the first plan, at 0
	// (self-consumption) after.
	ModeAutonomous Mode = iota
	// ModePlan: the home follows its setpoint in a plan.
	ModePlan
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case ModeAutonomous:
		return "autonomous"
	case ModePlan:
		return "plan"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Command is the loop's decision for one period.
type Command struct {
	// BatteryW is the battery power to apply (positive: charge), within
	// the battery's reported range.
	BatteryW gridmesh.W
	// Mode says whether a plan or self-consumption set the aim.
	Mode Mode
	// Epoch is that of the plan followed; zero when autonomous.
	Epoch gridmesh.Epoch
	// AimNetW is the net import aimed for: the plan's setpoint, the
	// initial aim before the first plan, or 0.
	AimNetW gridmesh.W
	// DroopW is the primary frequency response added to the battery
	// command (see Droop): negative (discharge) while the grid frequency
	// is low, positive while it is high, 0 inside the deadband. The home's
	// net import leaves AimNetW by this much, on purpose.
	DroopW gridmesh.W
	// Clamped is true when the battery's range bound the command, so the
	// home will miss its aim (plus DroopW).
	Clamped bool
	// PowerSource is where the battery's power, which the loop takes off
	// the meter to find the home's base load, came from on this step.
	PowerSource PowerSource
	// Held is true when the reading was unusable (a non-finite figure, a
	// power beyond gridmesh.MaxHomePowerW, or a battery range that does
	// not contain 0): BatteryW is then 0, which every battery can hold,
	// until a usable reading comes.
	Held bool
}
