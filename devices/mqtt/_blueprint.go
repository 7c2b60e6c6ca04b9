// This file is not compiled (its name starts with "_"). It is the
// template for teaching the driver a new kind of device: copy its pieces
// into the files named below and rename. The example is a boiler, whose
// reading gridmesh.BoilerState lives in the root package and whose
// interface lives in package control (the driver never imports control):
//
//	type Boiler interface {
//		Boiler() (gridmesh.BoilerState, error)
//		SetBoilerPower(w gridmesh.W) error
//	}
//
// Then, besides the code below:
//   - config.go: if the set topic is optional for the kind, say so in
//     Validate (as for loads);
//   - mqttsim: a local interface with the method set, a constructor
//     (NewBoiler), the state encoding (logical name -> value) and the
//     setpoint's application;
//   - tests: decode cases (good, missing required, wrong type, out of
//     range, extras ignored) in decode_test.go, the kind in
//     FuzzDecodeState's selector, a round trip against mosquitto in
//     broker_test.go;
//   - doc.go: the kind's row in the payload table.

package mqtt

import (
	"context"
	"fmt"

	"github.com/gridmesh/gridmesh"
)

// kinds.go: the constant (and add it to Kinds()) ...
const KindBoiler Kind = "boiler"

// ... a member of state (boiler gridmesh.BoilerState), and the kind's row
// in specs. One field per figure: logical name, default JSON key,
// required or not, range, setter. Ranges refuse garbage: finite and
// within gridmesh.MaxHomePowerW / MaxHomeEnergyWh, or a plausibility
// bound with a comment saying why.
var boilerSpec = &kindSpec{
	fields: []field{
		powerField("power", "power_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.boiler.PowerW = w }),
		powerField("max", "max_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.boiler.MaxW = w }),
		numberField("water", "water_c", true, minTempC, maxTempC, func(s *state, x float64) { s.boiler.WaterC = x }),
	},
	// Defaults for absent optional figures, checks across figures.
	finish: func(s *state, has func(string) bool) error {
		if s.boiler.PowerW > s.boiler.MaxW {
			return fmt.Errorf("power %v above max %v", s.boiler.PowerW, s.boiler.MaxW)
		}
		return nil
	},
	// nil for a kind that takes no setpoint.
	set: &setpoint{template: `{"power_w": {{.PowerW}}}`, lo: 0, hi: gridmesh.MaxHomePowerW},
}

// capabilities.go: an adapter with exactly the interface's methods, and
// its As method.

// Boiler is a hot-water boiler: it satisfies control.Boiler.
type Boiler struct{ d *Device }

// AsBoiler returns the device as a boiler, if it is one.
func (d *Device) AsBoiler() (*Boiler, bool) { return as(d, KindBoiler, &Boiler{d}) }

// Boiler returns the newest state the boiler published.
func (b *Boiler) Boiler() (gridmesh.BoilerState, error) {
	s, err := b.d.read("read boiler")
	return s.boiler, err
}

// SetBoilerPower asks for a heating power, sent in the background.
func (b *Boiler) SetBoilerPower(w gridmesh.W) error { return b.d.setPower("set boiler power", w) }

// Release hands the boiler back to its own control (devices.Releaser):
// every adapter that takes setpoints has it.
func (b *Boiler) Release(ctx context.Context) error { return b.d.Release(ctx) }
