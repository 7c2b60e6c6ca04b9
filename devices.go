package gridmesh

import (
	"errors"
	"fmt"
)

// Device readings. Drivers in package devices return them; package control
// reads them through the small capability interfaces it defines. They
// live here because devices and control never import each other.

// MeterReading is the home's grid connection point, read at the meter.
type MeterReading struct {
	// NetW is the net import (positive: import).
	NetW W
	// VoltageV is the RMS voltage, 0 when the meter does not measure it.
	VoltageV float64
	// FrequencyHz is the grid frequency, 0 when not measured.
	FrequencyHz float64
	// GridOK is false when the meter sees the grid gone (islanded or
	// blacked out).
	GridOK bool
}

// PVState is a PV inverter's output and curtailment.
type PVState struct {
	// PowerW is the production now (non-negative).
	PowerW W
	// AvailableW is what the array could produce now uncurtailed (equal to
	// PowerW when the inverter cannot tell).
	AvailableW W
	// LimitW is the curtailment limit in force (PeakW or more: none).
	LimitW W
	// PeakW is the inverter's rated output.
	PeakW W
}

// ChargerState is an EV charger and the car plugged into it.
type ChargerState struct {
	// Connected is true while a car is plugged in.
	Connected bool
	// PowerW is the charging power now (non-negative).
	PowerW W
	// MinW and MaxW bound a charging power: a charger is off or between
	// them (e.g. 1.4 kW: 6 A on one phase, to 11 kW: 16 A on three).
	MinW, MaxW W
	// WantedWh is the energy the car still wants this session.
	WantedWh Wh
	// DepartureMs is when the car is expected to leave, in Unix ms (0:
	// unknown).
	DepartureMs int64
}

// HeatPumpState is a heat pump and the house it heats.
type HeatPumpState struct {
	// PowerW is the electrical power drawn now.
	PowerW W
	// MaxW is the most it can draw.
	MaxW W
	// IndoorC and OutdoorC are temperatures in °C.
	IndoorC, OutdoorC float64
	// BandLowC and BandHighC are the comfort band: inside it, consumption
	// can be shifted; above it the heat pump stops, and below it the heat
	// pump heats on its own until told a power (a controller may keep it
	// off there, down to the device's frost protection).
	BandLowC, BandHighC float64
}

// LoadState is the home's household load, split by priority.
type LoadState struct {
	// CriticalW is the load that must be served (fridge, lights, medical).
	CriticalW W
	// NonCriticalW is the load that may be shed, served or not.
	NonCriticalW W
	// Shed is true while the non-critical load is disconnected.
	Shed bool
}

// ErrUnavailable is wrapped by every device error that means the device
// cannot be used now (not answering, breaker open, data stale). The loop
// treats such a device as absent and keeps safe setpoints.
var ErrUnavailable = errors.New("device unavailable")

// DeviceError is a device I/O failure. Retryable errors (a timeout, a
// dropped connection) may succeed on the next try; permanent ones (a
// device that lacks the capability, a rejected configuration) will not.
type DeviceError struct {
	Device    string
	Op        string
	Retryable bool
	Err       error
}

func (e *DeviceError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	return fmt.Sprintf("device %s: %s: %v (%s)", e.Device, e.Op, e.Err, kind)
}

func (e *DeviceError) Unwrap() error { return e.Err }
