package mqttsim

import "github.com/gridmesh/gridmesh/devices"

// The capabilities a Sim can put behind a broker (package devices states
// them once for the layer): anything that can stand in for a real device
// there (a devices/sim device, a test fake) can be simulated here.
type (
	Battery  = devices.Battery
	Meter    = devices.Meter
	PV       = devices.PV
	Charger  = devices.Charger
	HeatPump = devices.HeatPump
	Loads    = devices.Loads
)
