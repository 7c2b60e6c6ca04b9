package mqtt

import (
	"context"

	"github.com/gridmesh/gridmesh"
)

// The adapters below give a Device exactly the methods of its kind, so
// that it satisfies package control's capability interface for that kind
// and no other. Get one with the Device's As method for its kind.

// Battery is a battery device: it satisfies control.Battery.
type Battery struct{ d *Device }

// AsBattery returns the device as a battery, if it is one.
func (d *Device) AsBattery() (*Battery, bool) { return as(d, KindBattery, &Battery{d}) }

// Battery returns the newest flexibility the battery published. Without
// charge and discharge figures, ChargeWh and DischargeWh are the
// capacity's shares above and below the state of charge.
func (b *Battery) Battery() (gridmesh.Flexibility, error) {
	s, err := b.d.read("read battery")
	return s.battery, err
}

// SetBatteryPower commands a power (positive: charge), sent in the
// background; the device clamps it to its limits.
func (b *Battery) SetBatteryPower(w gridmesh.W) error { return b.d.setPower("set battery power", w) }

// Meter is a grid meter: it satisfies control.Meter.
type Meter struct{ d *Device }

// AsMeter returns the device as a meter, if it is one.
func (d *Device) AsMeter() (*Meter, bool) { return as(d, KindMeter, &Meter{d}) }

// Meter returns the newest reading the meter published. GridOK is true
// when the payload does not say.
func (m *Meter) Meter() (gridmesh.MeterReading, error) {
	s, err := m.d.read("read meter")
	return s.meter, err
}

// PV is a PV inverter: it satisfies control.PV.
type PV struct{ d *Device }

// AsPV returns the device as a PV inverter, if it is one.
func (d *Device) AsPV() (*PV, bool) { return as(d, KindPV, &PV{d}) }

// PV returns the newest state the inverter published. Without an
// available figure AvailableW is PowerW; without a limit LimitW is PeakW.
func (p *PV) PV() (gridmesh.PVState, error) {
	s, err := p.d.read("read pv")
	return s.pv, err
}

// SetPVLimit caps the output, sent in the background; the device clamps
// it to [0, PeakW].
func (p *PV) SetPVLimit(w gridmesh.W) error { return p.d.setPower("set pv limit", w) }

// Charger is an EV charger: it satisfies control.Charger.
type Charger struct{ d *Device }

// AsCharger returns the device as an EV charger, if it is one.
func (d *Device) AsCharger() (*Charger, bool) { return as(d, KindCharger, &Charger{d}) }

// Charger returns the newest state the charger published.
func (c *Charger) Charger() (gridmesh.ChargerState, error) {
	s, err := c.d.read("read charger")
	return s.charger, err
}

// SetChargePower commands a charging power, sent in the background.
func (c *Charger) SetChargePower(w gridmesh.W) error { return c.d.setPower("set charge power", w) }

// HeatPump is a heat pump: it satisfies control.HeatPump.
type HeatPump struct{ d *Device }

// AsHeatPump returns the device as a heat pump, if it is one.
func (d *Device) AsHeatPump() (*HeatPump, bool) { return as(d, KindHeatPump, &HeatPump{d}) }

// HeatPump returns the newest state the heat pump published.
func (h *HeatPump) HeatPump() (gridmesh.HeatPumpState, error) {
	s, err := h.d.read("read heat pump")
	return s.heatPump, err
}

// SetHeatPumpPower asks for an electrical power, sent in the background.
func (h *HeatPump) SetHeatPumpPower(w gridmesh.W) error {
	return h.d.setPower("set heat pump power", w)
}

// Loads is a household load: it satisfies control.Loads.
type Loads struct{ d *Device }

// AsLoads returns the device as a household load, if it is one.
func (d *Device) AsLoads() (*Loads, bool) { return as(d, KindLoads, &Loads{d}) }

// Loads returns the newest state the load published.
func (l *Loads) Loads() (gridmesh.LoadState, error) {
	s, err := l.d.read("read loads")
	return s.loads, err
}

// ShedNonCritical disconnects (true) or reconnects (false) the
// non-critical load, sent in the background. Without a set topic it
// fails with ErrNoSetTopic.
func (l *Loads) ShedNonCritical(shed bool) error {
	return l.d.command("shed non-critical load", SetpointData{Shed: shed})
}

// Release hands the battery back to its own control (see
// Device.Release).
func (b *Battery) Release(ctx context.Context) error { return b.d.Release(ctx) }

// Release lifts gridmesh's limit (see Device.Release).
func (p *PV) Release(ctx context.Context) error { return p.d.Release(ctx) }

// Release hands the charger back to its own control (see
// Device.Release).
func (c *Charger) Release(ctx context.Context) error { return c.d.Release(ctx) }

// Release hands the heat pump back to its own control (see
// Device.Release).
func (h *HeatPump) Release(ctx context.Context) error { return h.d.Release(ctx) }

// Release reconnects what gridmesh shed, in the device's own words (see
// Device.Release).
func (l *Loads) Release(ctx context.Context) error { return l.d.Release(ctx) }

// as returns a if d is of kind k.
func as[T any](d *Device, k Kind, a *T) (*T, bool) {
	if d.cfg.Kind != k {
		return nil, false
	}
	return a, true
}
