package mqtt

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gridmesh/gridmesh"
)

// SetpointData is what Config.SetTemplate is executed with.
type SetpointData struct {
	// PowerW is the commanded power in watts, for a battery (positive:
	// charge), a PV limit, a charger and a heat pump; 0 for loads. It is
	// finite and within ±gridmesh.MaxHomePowerW (0 and up except for a
	// battery); {{.PowerW}} renders it as a JSON number.
	PowerW float64
	// GridW is the grid power (positive: import) at which a system that
	// holds its grid point at a setpoint (a Victron ESS) delivers PowerW
	// from its battery, load unchanged: the grid power it reports, less
	// the battery power it reports, plus PowerW. Only for a battery whose
	// grid field is mapped; rounded like PowerW.
	GridW float64
	// Shed is the commanded state of the non-critical load, for loads;
	// false for the other kinds. {{.Shed}} renders true or false.
	Shed bool
}

// setPower commands a power: refused if not finite, clamped to the kind's
// range, then sent in the background.
func (d *Device) setPower(op string, w gridmesh.W) error {
	if !w.Finite() {
		return d.permanent(op, fmt.Errorf("%w: %v is not finite", ErrBadSetpoint, w))
	}
	data := SetpointData{PowerW: roundTo(float64(w.Clamp(d.set.lo, d.set.hi)), d.cfg.ResolutionW)}
	if d.needsGrid {
		return d.commandGrid(op, data)
	}
	return d.command(op, data)
}

// commandGrid holds a battery power for a device steered through its
// grid setpoint, and renders the grid setpoint from the newest reading.
// Every new reading renders it again (see regrid): the grid and battery
// figures arrive as separate messages, so one rendering may pair a grid
// reading with a battery reading of another instant; the next reading
// corrects it.
func (d *Device) commandGrid(op string, data SetpointData) error {
	s, err := d.read(op)
	if err != nil {
		return err
	}
	if !s.hasGrid {
		return d.unavailable(op, "the grid setpoint needs the grid power, which the device has not reported")
	}
	d.mu.Lock()
	d.want = &data
	payload, err := d.renderGrid(s)
	if err == nil {
		d.setpoint = payload
	}
	d.mu.Unlock()
	if err != nil {
		return d.permanent(op, err)
	}
	d.signal()
	return nil
}

// regrid renders the held battery power's grid setpoint again from a new
// reading, and reports whether it changed. The caller holds mu.
func (d *Device) regrid(s state) bool {
	if d.want == nil || !s.hasGrid {
		return false
	}
	payload, err := d.renderGrid(s)
	if err != nil || bytes.Equal(payload, d.setpoint) {
		return false
	}
	d.setpoint = payload
	return true
}

// renderGrid renders the held battery power as a grid setpoint for
// reading s. The caller holds mu.
func (d *Device) renderGrid(s state) ([]byte, error) {
	data := *d.want
	data.GridW = roundTo(gridSetpoint(s.gridW, float64(s.battery.PowerW), data.PowerW), d.cfg.ResolutionW)
	var b bytes.Buffer
	if err := d.tmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("%w: set template: %w", ErrBadSetpoint, err)
	}
	return b.Bytes(), nil
}

// gridSetpoint is the grid power at which a battery now at batteryW,
// with the grid at gridW, delivers wantW with the rest of the home
// unchanged: the home without its battery draws gridW − batteryW.
func gridSetpoint(gridW, batteryW, wantW float64) float64 {
	return gridW - batteryW + wantW
}

// usesGrid reports whether a set template renders GridW.
func usesGrid(tmpl string) bool { return strings.Contains(tmpl, ".GridW") }

// roundTo rounds w to a multiple of step and returns the float64 nearest
// its short decimal form, so that it renders as that decimal (865.2, not
// 865.1999999999999). step is in [minResolutionW, maxResolutionW].
func roundTo(w, step float64) float64 {
	x := math.Round(w/step) * step
	decimals := 0
	for s := step; decimals < 6 && math.Abs(s-math.Round(s)) > 1e-9; s *= 10 {
		decimals++
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', decimals, 64), 64)
	switch {
	case v == 0:
		return 0 // not -0, which renders as "-0"
	case err != nil: // a float formatted by strconv always parses
		return x
	}
	return v
}

// command renders a setpoint and makes it the one the publisher sends.
// It never waits: the publisher sends it as soon as it is connected, and
// again on every reconnect. A nil error means accepted, not delivered.
func (d *Device) command(op string, data SetpointData) error {
	if d.tmpl == nil {
		return d.permanent(op, ErrNoSetTopic)
	}
	var b bytes.Buffer
	if err := d.tmpl.Execute(&b, data); err != nil {
		return d.permanent(op, fmt.Errorf("%w: set template: %w", ErrBadSetpoint, err))
	}
	d.mu.Lock()
	d.setpoint = b.Bytes()
	d.mu.Unlock()
	d.signal()
	return nil
}
