package devices

import (
	"context"
	"errors"

	"github.com/gridmesh/gridmesh"
)

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

// InMemory is a device whose every call returns at once because it does
// no I/O: a simulation in the process's memory. A guard calls it on its
// own goroutine, without the goroutine, timer and channels it spends on
// every call to a device that might hang (guard.Config.CallTimeout): at
// ten reads a second per device, that is most of what a simulated home's
// device loop costs a city of homes in one process. A driver that talks
// to hardware must not have it.
type InMemory interface {
	InMemory() bool
}

// IsInMemory reports whether d says it is an InMemory device.
func IsInMemory(d any) bool {
	m, ok := d.(InMemory)
	return ok && m.InMemory()
}

// CriticalLoads is a household load that can also be disconnected whole,
// critical part included (a contactor on the home's load side): an
// island keeps some homes lit and others off when its energy cannot
// carry all. Optional beside Loads; the battery and PV stay connected.
type CriticalLoads interface {
	DisconnectCritical(off bool) error
}

// ErrWaiting is wrapped, beside gridmesh.ErrUnavailable, by the error a
// device returns while it waits for its first reading: a device that
// publishes its state on its own schedule (MQTT) has said nothing yet.
// That is silence before the start, not a failure: a guard does not
// count it against its breaker and reports the device as waiting.
var ErrWaiting = errors.New("devices: waiting for the device's first reading")

// Releaser is a device that gridmesh can hand back to its own control:
// a battery to its default (self-consumption) mode, a PV inverter with
// no limit, a charger or heat pump to its own schedule. Release undoes
// every setpoint gridmesh holds on the device, within ctx; a setpoint
// given after it steers the device again. Every real driver's devices
// have it; a node calls it when it stops (see Release).
type Releaser interface {
	Release(ctx context.Context) error
}

// Release releases every device given that is a Releaser (nil and
// others are skipped), each in turn within ctx, and returns their errors
// joined. Call it once the loop has stopped steering them, so no
// setpoint follows the release: a stopping node calls
//
//	devices.Release(ctx, deps.Battery, deps.PV, deps.Charger, deps.HeatPump, deps.Loads)
//
// with the raw devices (not their guards) and a context of a few
// seconds, after its loop and the guards have returned.
func Release(ctx context.Context, devs ...any) error {
	var errs []error
	for _, d := range devs {
		if r, ok := d.(Releaser); ok {
			errs = append(errs, r.Release(ctx))
		}
	}
	return errors.Join(errs...)
}
