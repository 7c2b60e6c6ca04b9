package sim

import (
	"math"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
)

// Devices are a Home's devices, each its own value with the method set
// of the capability package control defines for it. A device the home
// lacks is nil. They share the home's clock and lock, so the meter always
// sums the other devices at one instant.
type Devices struct {
	Battery  *Battery
	PV       *PV
	Charger  *Charger
	HeatPump *HeatPump
	Loads    *Loads
	Meter    *Meter
}

// Battery is a Home's battery.
type Battery struct{ h *Home }

// Battery returns the battery's flexibility now; PowerW is the power it
// actually delivers now, as it reports it (with BatteryParams.Hardware's
// noise, or 0 if it hides it). The error is always nil.
func (b *Battery) Battery() (gridmesh.Flexibility, error) {
	h := b.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	return h.batteryReading(), nil
}

// SetBatteryPower commands the battery to w from now on (positive:
// charge), which it follows after BatteryParams.Hardware's reaction delay
// and at its ramp rate (at once by default). The battery clamps the command to its own power limits, and
// stops charging when full or discharging at its floor (empty, or the
// backup reserve). A non-finite w is refused with a permanent
// *gridmesh.DeviceError wrapping ErrInvalidCommand and changes nothing.
func (b *Battery) SetBatteryPower(w gridmesh.W) error {
	if !w.Finite() {
		return refuse("battery", "set power", w)
	}
	h := b.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	p := h.params.Battery
	w = w.Clamp(-p.MaxDischargeW, p.MaxChargeW)
	if p.Hardware.ideal() {
		h.batteryCmd = w
	} else {
		h.batteryCmds = append(h.batteryCmds, timedCommand{w: w, at: h.last})
	}
	h.battery = p.Step(h.battery, h.batteryCmd, 0)
	return nil
}

// SetReserveUsable lets the battery discharge into its backup reserve
// (true), as an islanded home may, or keeps the reserve back again
// (false).
func (b *Battery) SetReserveUsable(usable bool) {
	h := b.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	h.battery.ReserveUsable = usable
	h.battery = h.params.Battery.Step(h.battery, h.batteryCmd, 0)
}

// Exchange moves energy into (e > 0) or out of (e < 0) the battery
// outside any command, measured at the home's bus, and returns what it
// moved: bounded by the room left and by the floor (see
// SetReserveUsable), with the battery's losses on the way in and out. It
// is the grid-forming inverter's own answer to the frequency of an
// islanded feeder (its damping), which the testnet's feeder model
// integrates. A non-finite e moves nothing.
func (b *Battery) Exchange(e gridmesh.Wh) gridmesh.Wh {
	if !e.Finite() || e == 0 {
		return 0
	}
	h := b.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	p := h.params.Battery
	eta := gridmesh.Wh(math.Sqrt(p.RoundTripEfficiency))
	stored := p.clampStored(h.battery.StoredWh)
	if e > 0 {
		in := min(e*eta, p.CapacityWh-stored)
		h.battery.StoredWh = stored + in
		h.battery = p.Step(h.battery, h.batteryCmd, 0)
		return in / eta
	}
	out := min(-e/eta, max(stored-p.floor(h.battery), 0))
	h.battery.StoredWh = stored - out
	h.battery = p.Step(h.battery, h.batteryCmd, 0)
	return -out * eta
}

// PV is a Home's PV inverter.
type PV struct{ h *Home }

// PV reports the inverter's output, what the array could produce and the
// limit in force, now. The error is always nil.
func (v *PV) PV() (gridmesh.PVState, error) {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.params.PV.State(h.advance(), h.pvLimit), nil
}

// SetPVLimit caps the output at w from now on, clamped to [0, PeakW]
// (PeakW: no cap). A non-finite w is refused and changes nothing.
func (v *PV) SetPVLimit(w gridmesh.W) error {
	if !w.Finite() {
		return refuse("pv", "set limit", w)
	}
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	h.pvLimit = h.params.PV.clampLimit(w)
	return nil
}

// Charger is a Home's EV charger.
type Charger struct{ h *Home }

// Charger reports the charger and the car now. The error is always nil.
func (c *Charger) Charger() (gridmesh.ChargerState, error) {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.params.Charger.Reading(h.ev, h.advance()), nil
}

// SetChargePower commands a charging power from now on, for this session
// and the next ones: 0 or less stops charging, a power below MinW charges
// at MinW, above MaxW at MaxW. Before the first command the charger
// charges at MaxW. A car charges only while it wants energy. A non-finite
// w is refused and changes nothing.
func (c *Charger) SetChargePower(w gridmesh.W) error {
	if !w.Finite() {
		return refuse("charger", "set power", w)
	}
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.advance()
	h.evCmd = ChargerCommand{Manual: true, PowerW: w}
	h.stepLoads(t, 0)
	return nil
}

// HeatPump is a Home's heat pump.
type HeatPump struct{ h *Home }

// HeatPump reports the heat pump and the house now. The error is always
// nil.
func (p *HeatPump) HeatPump() (gridmesh.HeatPumpState, error) {
	h := p.h
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.params.HeatPump.Reading(h.thermal, h.advance()), nil
}

// SetHeatPumpPower asks for an electrical power from now on, clamped to
// [0, MaxW]; it is followed below the comfort band too, down to frost
// protection, and overridden above the band until the house is back
// inside (see HeatPumpParams). Before the first request the heat pump
// runs its thermostat. A non-finite w is refused and
// changes nothing.
func (p *HeatPump) SetHeatPumpPower(w gridmesh.W) error {
	if !w.Finite() {
		return refuse("heat pump", "set power", w)
	}
	h := p.h
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.advance()
	h.hpCmd = HeatPumpCommand{Manual: true, PowerW: w}
	h.stepLoads(t, 0)
	return nil
}

// Loads is a Home's household load.
type Loads struct{ h *Home }

// Loads reports the critical and non-critical demand now, and whether the
// non-critical part is shed. The error is always nil.
func (l *Loads) Loads() (gridmesh.LoadState, error) {
	h := l.h
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.params.Load.State(h.advance(), h.shed), nil
}

// ShedNonCritical disconnects (true) or reconnects (false) the
// non-critical load from now on. The error is always nil.
func (l *Loads) ShedNonCritical(shed bool) error {
	l.switchAt(func(h *Home) { h.shed = shed })
	return nil
}

// DisconnectCritical disconnects (true) or reconnects (false) the whole
// household load, critical part included, from now on: a disconnected
// home draws no household load (its battery, PV, charger and heat pump
// stay as commanded). The error is always nil.
func (l *Loads) DisconnectCritical(off bool) error {
	l.switchAt(func(h *Home) { h.criticalOff = off })
	return nil
}

// switchAt integrates the home to now and then switches its loads with
// set, under its lock.
func (l *Loads) switchAt(set func(h *Home)) {
	h := l.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	set(h)
}

// Meter is a Home's grid meter.
type Meter struct{ h *Home }

// Meter reads the grid meter now: the net import, the sum of every
// device (load served - PV + battery + charger + heat pump), and the
// grid's voltage, frequency and presence as last set (DefaultGrid until
// SetGrid). The error is always nil.
//
// NetW is the home's balance even while the grid is down: what a
// non-zero balance on a dead grid means is the feeder model's to decide.
func (m *Meter) Meter() (gridmesh.MeterReading, error) {
	h := m.h
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.snapshot(h.advance())
	return gridmesh.MeterReading{NetW: s.NetW, VoltageV: s.Grid.VoltageV, FrequencyHz: s.Grid.FrequencyHz, GridOK: s.Grid.Up}, nil
}

// SetGrid sets the grid the meter sees from now on: the testnet's feeder
// model calls it as the grid's frequency and voltage move or the grid
// goes. An invalid grid (see Grid.Validate) is refused and changes
// nothing.
func (m *Meter) SetGrid(g Grid) error {
	if err := g.Validate(); err != nil {
		return err
	}
	h := m.h
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.advance()
	h.grid = g
	h.stepLoads(t, 0) // a dead bus stops the charger and the heat pump at once
	return nil
}

// InMemory: every simulated device answers from memory at once
// (devices.InMemory), so a guard calls it without a goroutine and a
// timer of its own.
func (h *Home) InMemory() bool     { return true }
func (b *Battery) InMemory() bool  { return true }
func (v *PV) InMemory() bool       { return true }
func (c *Charger) InMemory() bool  { return true }
func (p *HeatPump) InMemory() bool { return true }
func (l *Loads) InMemory() bool    { return true }
func (m *Meter) InMemory() bool    { return true }

var (
	_ devices.InMemory = (*Home)(nil)
	_ devices.InMemory = (*Battery)(nil)
	_ devices.InMemory = (*PV)(nil)
	_ devices.InMemory = (*Charger)(nil)
	_ devices.InMemory = (*HeatPump)(nil)
	_ devices.InMemory = (*Loads)(nil)
	_ devices.InMemory = (*Meter)(nil)
)
