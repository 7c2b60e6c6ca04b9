package control

import "github.com/gridmesh/gridmesh"

// Battery is a battery the loop steers.
type Battery interface {
	// Battery reports what the battery can do now and the power it
	// delivers now.
	Battery() (gridmesh.Flexibility, error)
	// SetBatteryPower commands a power (positive: charge). The device
	// clamps it to its own limits.
	SetBatteryPower(w gridmesh.W) error
}

// Meter is the home's grid meter.
type Meter interface {
	// NetW reads the net import now (positive: import).
	NetW() (gridmesh.W, error)
}
