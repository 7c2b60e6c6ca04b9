package devices

import "github.com/gridmesh/gridmesh"

// Battery is a battery: what it can do now, and a power to deliver
// (positive: charge).
type Battery interface {
	Battery() (gridmesh.Flexibility, error)
	SetBatteryPower(w gridmesh.W) error
}

// Meter is the home's grid meter.
type Meter interface {
	Meter() (gridmesh.MeterReading, error)
}

// PV is a PV inverter that can be curtailed.
type PV interface {
	PV() (gridmesh.PVState, error)
	SetPVLimit(w gridmesh.W) error
}

// Charger is an EV charger.
type Charger interface {
	Charger() (gridmesh.ChargerState, error)
	SetChargePower(w gridmesh.W) error
}

// HeatPump is a heat pump whose consumption can be shifted.
type HeatPump interface {
	HeatPump() (gridmesh.HeatPumpState, error)
	SetHeatPumpPower(w gridmesh.W) error
}

// Loads is the household load, whose non-critical part can be shed.
type Loads interface {
	Loads() (gridmesh.LoadState, error)
	ShedNonCritical(shed bool) error
}
