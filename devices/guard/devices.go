package guard

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
)

// The device capabilities a guard wraps (package devices states them once
// for the layer).
type (
	BatteryDevice  = devices.Battery
	MeterDevice    = devices.Meter
	PVDevice       = devices.PV
	ChargerDevice  = devices.Charger
	HeatPumpDevice = devices.HeatPump
	LoadsDevice    = devices.Loads
)

// errNilDevice is returned by a constructor given no device.
var errNilDevice = errors.New("guard: nil device")

// ErrNotFinite is wrapped by the error for a non-finite power command,
// which a guard refuses before it reaches the device.
var ErrNotFinite = errors.New("guard: power is not finite")

func finite(w gridmesh.W) error {
	if !w.Finite() {
		return fmt.Errorf("%w: %v", ErrNotFinite, w)
	}
	return nil
}

// ErrBadReading is wrapped by the error recorded for a reading with a
// non-finite or out-of-range figure, which a guard never hands out.
var ErrBadReading = errors.New("guard: bad reading")

// allFinite checks that every figure of a reading is a usable number.
func allFinite(fs ...float64) error {
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: %v", ErrBadReading, f)
		}
	}
	return nil
}

func validFlexibility(f gridmesh.Flexibility) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadReading, err)
	}
	return nil
}

func validMeter(m gridmesh.MeterReading) error {
	return allFinite(float64(m.NetW), m.VoltageV, m.FrequencyHz)
}

func validPV(s gridmesh.PVState) error {
	return allFinite(float64(s.PowerW), float64(s.AvailableW), float64(s.LimitW), float64(s.PeakW))
}

func validCharger(s gridmesh.ChargerState) error {
	return allFinite(float64(s.PowerW), float64(s.MinW), float64(s.MaxW), float64(s.WantedWh))
}

func validHeatPump(s gridmesh.HeatPumpState) error {
	return allFinite(float64(s.PowerW), float64(s.MaxW), s.IndoorC, s.OutdoorC, s.BandLowC, s.BandHighC)
}

func validLoads(s gridmesh.LoadState) error {
	return allFinite(float64(s.CriticalW), float64(s.NonCriticalW))
}

// Battery guards a battery. Its Battery and SetBatteryPower never block.
type Battery struct {
	*Guard[gridmesh.Flexibility, gridmesh.W]
}

// NewBattery wraps d; Run polls it.
func NewBattery(d BatteryDevice, cfg Config, log *slog.Logger) (*Battery, error) {
	if d == nil {
		return nil, errNilDevice
	}
	g, err := newGuard("battery", cfg, log, d.Battery, validFlexibility, d.SetBatteryPower, finite)
	if err != nil {
		return nil, err
	}
	g.inline = devices.IsInMemory(d)
	return &Battery{g}, nil
}

// Battery returns the newest reading, or an error wrapping
// gridmesh.ErrUnavailable (see Guard).
func (b *Battery) Battery() (gridmesh.Flexibility, error) { return b.get("read") }

// SetBatteryPower records w for Run to apply. A non-finite w is refused.
func (b *Battery) SetBatteryPower(w gridmesh.W) error { return b.set("set power", w) }

// Meter guards a grid meter. Its Meter never blocks.
type Meter struct {
	*Guard[gridmesh.MeterReading, struct{}]
}

// NewMeter wraps d; Run polls it.
func NewMeter(d MeterDevice, cfg Config, log *slog.Logger) (*Meter, error) {
	if d == nil {
		return nil, errNilDevice
	}
	g, err := newGuard[gridmesh.MeterReading, struct{}]("meter", cfg, log, d.Meter, validMeter, nil, nil)
	if err != nil {
		return nil, err
	}
	g.inline = devices.IsInMemory(d)
	return &Meter{g}, nil
}

// Meter returns the newest reading, or an error wrapping
// gridmesh.ErrUnavailable.
func (m *Meter) Meter() (gridmesh.MeterReading, error) { return m.get("read") }

// PV guards a PV inverter. Its PV and SetPVLimit never block.
type PV struct {
	*Guard[gridmesh.PVState, gridmesh.W]
}

// NewPV wraps d; Run polls it.
func NewPV(d PVDevice, cfg Config, log *slog.Logger) (*PV, error) {
	if d == nil {
		return nil, errNilDevice
	}
	g, err := newGuard("pv", cfg, log, d.PV, validPV, d.SetPVLimit, finite)
	if err != nil {
		return nil, err
	}
	g.inline = devices.IsInMemory(d)
	return &PV{g}, nil
}

// PV returns the newest reading, or an error wrapping
// gridmesh.ErrUnavailable.
func (p *PV) PV() (gridmesh.PVState, error) { return p.get("read") }

// SetPVLimit records w for Run to apply. A non-finite w is refused.
func (p *PV) SetPVLimit(w gridmesh.W) error { return p.set("set limit", w) }

// Charger guards an EV charger. Its Charger and SetChargePower never
// block.
type Charger struct {
	*Guard[gridmesh.ChargerState, gridmesh.W]
}

// NewCharger wraps d; Run polls it.
func NewCharger(d ChargerDevice, cfg Config, log *slog.Logger) (*Charger, error) {
	if d == nil {
		return nil, errNilDevice
	}
	g, err := newGuard("charger", cfg, log, d.Charger, validCharger, d.SetChargePower, finite)
	if err != nil {
		return nil, err
	}
	g.inline = devices.IsInMemory(d)
	return &Charger{g}, nil
}

// Charger returns the newest reading, or an error wrapping
// gridmesh.ErrUnavailable.
func (c *Charger) Charger() (gridmesh.ChargerState, error) { return c.get("read") }

// SetChargePower records w for Run to apply. A non-finite w is refused.
func (c *Charger) SetChargePower(w gridmesh.W) error { return c.set("set power", w) }

// HeatPump guards a heat pump. Its HeatPump and SetHeatPumpPower never
// block.
type HeatPump struct {
	*Guard[gridmesh.HeatPumpState, gridmesh.W]
}

// NewHeatPump wraps d; Run polls it.
func NewHeatPump(d HeatPumpDevice, cfg Config, log *slog.Logger) (*HeatPump, error) {
	if d == nil {
		return nil, errNilDevice
	}
	g, err := newGuard("heat_pump", cfg, log, d.HeatPump, validHeatPump, d.SetHeatPumpPower, finite)
	if err != nil {
		return nil, err
	}
	g.inline = devices.IsInMemory(d)
	return &HeatPump{g}, nil
}

// HeatPump returns the newest reading, or an error wrapping
// gridmesh.ErrUnavailable.
func (h *HeatPump) HeatPump() (gridmesh.HeatPumpState, error) { return h.get("read") }

// SetHeatPumpPower records w for Run to apply. A non-finite w is refused.
func (h *HeatPump) SetHeatPumpPower(w gridmesh.W) error { return h.set("set power", w) }

// Loads guards a household load. Its Loads, ShedNonCritical and
// DisconnectCritical never block.
type Loads struct {
	*Guard[gridmesh.LoadState, LoadsCommand]
	mu sync.Mutex // orders the setters' read of the command and its set
	// canDisconnect: the device is a devices.CriticalLoads (set once).
	canDisconnect bool
}

// LoadsCommand is what the loads are told: the non-critical part shed,
// and the whole load disconnected (devices.CriticalLoads).
type LoadsCommand struct {
	ShedNonCritical, DisconnectCritical bool
}

// NewLoads wraps d; Run polls it. A d that is not a devices.CriticalLoads
// refuses DisconnectCritical(true) as a permanent device error.
func NewLoads(d LoadsDevice, cfg Config, log *slog.Logger) (*Loads, error) {
	if d == nil {
		return nil, errNilDevice
	}
	critical, canDisconnect := d.(devices.CriticalLoads)
	apply := func(c LoadsCommand) error {
		if err := d.ShedNonCritical(c.ShedNonCritical); err != nil {
			return err
		}
		if canDisconnect {
			return critical.DisconnectCritical(c.DisconnectCritical)
		}
		return nil
	}
	check := func(c LoadsCommand) error {
		if c.DisconnectCritical && !canDisconnect {
			return errors.New("the loads cannot disconnect their critical part")
		}
		return nil
	}
	g, err := newGuard[gridmesh.LoadState, LoadsCommand]("loads", cfg, log, d.Loads, validLoads, apply, check)
	if err != nil {
		return nil, err
	}
	g.inline = devices.IsInMemory(d)
	return &Loads{Guard: g, canDisconnect: canDisconnect}, nil
}

// CanDisconnectCritical reports whether the loads can be disconnected
// whole, critical part included (the device is a devices.CriticalLoads).
func (l *Loads) CanDisconnectCritical() bool { return l.canDisconnect }

// Loads returns the newest reading, or an error wrapping
// gridmesh.ErrUnavailable.
func (l *Loads) Loads() (gridmesh.LoadState, error) { return l.get("read") }

// ShedNonCritical records shed for Run to apply.
func (l *Loads) ShedNonCritical(shed bool) error {
	return l.change("shed", func(c *LoadsCommand) { c.ShedNonCritical = shed })
}

// DisconnectCritical records off for Run to apply (devices.CriticalLoads).
func (l *Loads) DisconnectCritical(off bool) error {
	return l.change("disconnect", func(c *LoadsCommand) { c.DisconnectCritical = off })
}

// change records the newest command changed by f: one part of the
// command changes, the other stays as last given. A command the check
// refuses is not recorded, so the last one stays.
func (l *Loads) change(op string, f func(*LoadsCommand)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, _ := l.Command()
	f(&c)
	return l.set(op, c)
}

// Compile-time checks that every guard has its device's method set.
var (
	_ BatteryDevice  = (*Battery)(nil)
	_ MeterDevice    = (*Meter)(nil)
	_ PVDevice       = (*PV)(nil)
	_ ChargerDevice  = (*Charger)(nil)
	_ HeatPumpDevice = (*HeatPump)(nil)
	_ LoadsDevice    = (*Loads)(nil)
)
