package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
)

// Home is a simulated home: any of a battery, a PV inverter, an EV
// charger, a heat pump and a household load, behind one grid meter. Its
// state evolves with the clock it is given, which may run faster than
// real time: on every call it integrates the battery, the car and the
// house from its last reading of the clock to now under the commands in
// force (commands are piecewise constant between calls). PV, load and
// grid are pure functions of the clock and the settings in force.
//
// Devices returns each device as its own value, to hand to a node or a
// driver's simulator. The methods on Home itself (Battery,
// SetBatteryPower, Meter, Snapshot) are the original home's and stay for
// its callers.
//
// A Home is safe for concurrent use.
type Home struct {
	params  FullHomeParams
	clock   func() time.Time
	devices Devices // set once in NewFullHome; read-only after

	// mu guards the fields below; every method holds it while it advances
	// the state and reads it, so a reading is of one instant.
	mu          sync.Mutex
	last        time.Time       // clock reading the state was integrated to
	battery     BatteryState    // at last; PowerW is the power delivered at last
	batteryCmd  gridmesh.W      // the command the battery follows at last (its drive), within the limits
	batteryCmds []timedCommand  // commands given (within the limits, oldest first) the drive has still to take up (BatteryHardware)
	noise       *rand.Rand      // the battery's measurement noise; nil without
	ev          EVState         // at last
	evCmd       ChargerCommand  // in force since last
	thermal     ThermalState    // at last
	hpCmd       HeatPumpCommand // in force since last
	pvLimit     gridmesh.W      // in force, within [0, PeakW]
	shed        bool            // the non-critical load is disconnected
	criticalOff bool            // the whole household load is disconnected
	grid        Grid            // as last set
}

// HomeSnapshot is everything a Home measures at one instant, for the
// testnet's feeder model and its report. Figures of absent devices are 0.
type HomeSnapshot struct {
	// At is the clock reading the snapshot describes.
	At time.Time
	// LoadW is the household load served: CriticalW, plus NonCriticalW
	// unless Shed; 0 on a dead bus (Grid.Dead), as are PVW, ChargerW and
	// HeatPumpW.
	LoadW gridmesh.W
	// CriticalW and NonCriticalW split the household's demand.
	CriticalW, NonCriticalW gridmesh.W
	// Shed is true while the non-critical load is disconnected.
	Shed bool
	// CriticalOff is true while the whole household load is disconnected
	// (Loads.DisconnectCritical): LoadW is 0.
	CriticalOff bool
	// PVW is the PV production, never negative: PVAvailableW up to
	// PVLimitW.
	PVW gridmesh.W
	// PVAvailableW is what the array could produce uncurtailed.
	PVAvailableW gridmesh.W
	// PVLimitW is the curtailment limit in force (PeakW: none).
	PVLimitW gridmesh.W
	// BatteryW is the power the battery delivers (positive: charging).
	BatteryW gridmesh.W
	// ChargerW is the EV charging power.
	ChargerW gridmesh.W
	// EVConnected is true while a car is plugged in; EVWantedWh is the
	// energy it still wants.
	EVConnected bool
	EVWantedWh  gridmesh.Wh
	// HeatPumpW is the heat pump's electrical power.
	HeatPumpW gridmesh.W
	// IndoorC and OutdoorC are the house's and the outdoor temperatures
	// (0 without a heat pump).
	IndoorC, OutdoorC float64
	// NetW is LoadW - PVW + BatteryW + ChargerW + HeatPumpW: the import
	// at the grid meter.
	NetW gridmesh.W
	// SoC is the battery's state of charge, 0..1.
	SoC float64
	// StoredWh is the energy in the battery.
	StoredWh gridmesh.Wh
	// Grid is the grid the meter sees.
	Grid Grid
}

// ErrNoDevice is returned by a Home method for a device the home lacks.
var ErrNoDevice = errors.New("sim: the home has no such device")

// NewHome validates p and returns a home with a battery, PV and a load,
// whose battery starts at p.InitialSoC and idle, at clock(). It is
// NewFullHome(p.Full(), clock).
func NewHome(p HomeParams, clock func() time.Time) (*Home, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return NewFullHome(p.Full(), clock)
}

// NewFullHome validates p and returns a home with the devices p
// describes, at clock(): the battery at p.InitialSoC and idle, the house
// at p.InitialIndoorC, PV uncurtailed, no load shed, on DefaultGrid, and
// every device on its defaults (the charger charging at its maximum, the
// heat pump on its thermostat).
func NewFullHome(p FullHomeParams, clock func() time.Time) (*Home, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		return nil, errors.New("sim: nil clock")
	}
	h := &Home{params: p, clock: clock, last: clock(), grid: DefaultGrid()}
	h.devices.Meter = &Meter{h}
	if b := p.Battery; b != nil {
		h.battery = BatteryState{StoredWh: gridmesh.Wh(p.InitialSoC) * b.CapacityWh}
		if b.Hardware.NoiseW > 0 {
			h.noise = rand.New(rand.NewPCG(b.Hardware.NoiseSeed, 0))
		}
		h.devices.Battery = &Battery{h}
	}
	if pv := p.PV; pv != nil {
		h.pvLimit = pv.PeakW
		h.devices.PV = &PV{h}
	}
	if c := p.Charger; c != nil {
		h.ev = c.Step(EVState{}, h.evCmd, h.last, 0)
		h.devices.Charger = &Charger{h}
	}
	if hp := p.HeatPump; hp != nil {
		h.thermal = hp.Step(ThermalState{IndoorC: p.InitialIndoorC}, h.hpCmd, h.last, 0)
		h.devices.HeatPump = &HeatPump{h}
	}
	if p.Load != nil {
		h.devices.Loads = &Loads{h}
	}
	return h, nil
}

// Devices returns the home's devices, each its own value; a device the
// home lacks is nil. Do not put a nil field into an interface: the
// interface would not be nil.
func (h *Home) Devices() Devices { return h.devices }

// Battery returns the battery's flexibility now; PowerW is the power it
// actually delivers now. It is Devices().Battery.Battery(), and fails with
// ErrNoDevice in a home without a battery.
func (h *Home) Battery() (gridmesh.Flexibility, error) {
	if h.devices.Battery == nil {
		return gridmesh.Flexibility{}, ErrNoDevice
	}
	return h.devices.Battery.Battery()
}

// SetBatteryPower commands the battery to w from now on (positive:
// charge); see Battery.SetBatteryPower. It fails with ErrNoDevice in a
// home without a battery.
func (h *Home) SetBatteryPower(w gridmesh.W) error {
	if h.devices.Battery == nil {
		return ErrNoDevice
	}
	return h.devices.Battery.SetBatteryPower(w)
}

// Meter reads the grid meter now; see Meter.Meter.
func (h *Home) Meter() (gridmesh.MeterReading, error) { return h.devices.Meter.Meter() }

// Snapshot measures everything at once, now.
func (h *Home) Snapshot() HomeSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snapshot(h.advance())
}

// snapshot measures everything at t, the instant the state describes. The
// caller holds h.mu.
func (h *Home) snapshot(t time.Time) HomeSnapshot {
	p := h.params
	s := HomeSnapshot{At: t, Shed: h.shed, CriticalOff: h.criticalOff, Grid: h.grid}
	if p.Load != nil {
		l := p.Load.State(t, h.shed)
		s.CriticalW, s.NonCriticalW, s.LoadW = l.CriticalW, l.NonCriticalW, l.CriticalW
		if !h.shed {
			s.LoadW += l.NonCriticalW
		}
		if h.criticalOff {
			s.LoadW = 0
		}
	}
	if p.PV != nil {
		pv := p.PV.State(t, h.pvLimit)
		s.PVW, s.PVAvailableW, s.PVLimitW = pv.PowerW, pv.AvailableW, pv.LimitW
	}
	if b := p.Battery; b != nil {
		s.BatteryW, s.StoredWh = h.battery.PowerW, h.battery.StoredWh
		s.SoC = float64(h.battery.StoredWh / b.CapacityWh)
	}
	if c := p.Charger; c != nil {
		r := c.Reading(h.ev, t)
		s.ChargerW, s.EVConnected, s.EVWantedWh = r.PowerW, r.Connected, r.WantedWh
	}
	if hp := p.HeatPump; hp != nil {
		s.HeatPumpW, s.IndoorC, s.OutdoorC = h.thermal.PowerW, h.thermal.IndoorC, hp.OutdoorAt(t)
	}
	if h.grid.Dead() {
		s.LoadW, s.PVW, s.ChargerW, s.HeatPumpW = 0, 0, 0, 0
	}
	s.NetW = s.LoadW - s.PVW + s.BatteryW + s.ChargerW + s.HeatPumpW
	return s
}

// advance integrates the state from h.last to the clock's reading and
// returns the instant the state now describes. A clock that went back is
// ignored until it passes h.last again. The caller holds h.mu.
func (h *Home) advance() time.Time {
	now := h.clock()
	if !now.After(h.last) {
		return h.last
	}
	dt := now.Sub(h.last)
	if b := h.params.Battery; b != nil {
		// Step reports the mean power over the interval; the state keeps
		// the power delivered at its end, which is 0 if a bound was
		// reached.
		h.stepBattery(h.last, now)
	}
	h.stepLoads(h.last, dt)
	h.last = now
	return now
}

// stepBattery integrates the battery from `from` to `to`: at once under
// a settled drive; in rampStep steps while the drive moves toward the
// command given (BatteryHardware's delay and ramp). Step reports the mean
// power over a step; the state keeps the power delivered at its end,
// which is 0 if a bound was reached. The caller holds h.mu.
func (h *Home) stepBattery(from, to time.Time) {
	b := h.params.Battery
	hw := b.Hardware
	for t := from; t.Before(to); {
		if len(h.batteryCmds) == 0 || len(h.batteryCmds) == 1 && h.batteryCmds[0].w == h.batteryCmd {
			h.battery = b.Step(b.Step(h.battery, h.batteryCmd, to.Sub(t)), h.batteryCmd, 0)
			return
		}
		next := t.Add(rampStep)
		if next.After(to) {
			next = to
		}
		h.battery = b.Step(h.battery, h.batteryCmd, next.Sub(t))
		if w, ok := hw.target(h.batteryCmds, t); ok {
			h.batteryCmd = hw.ramp(h.batteryCmd, w, next.Sub(t))
		}
		h.batteryCmds = hw.prune(h.batteryCmds, next)
		h.battery = b.Step(h.battery, h.batteryCmd, 0)
		t = next
	}
}

// batteryReading is the battery's flexibility as it reports it: its
// power with measurement noise, or 0 if it does not report it
// (BatteryHardware). The caller holds h.mu.
func (h *Home) batteryReading() gridmesh.Flexibility {
	p := h.params.Battery
	f := p.Flexibility(h.battery)
	switch {
	case p.Hardware.HidesPower:
		f.PowerW = 0
	case h.noise != nil:
		n := gridmesh.W(h.noise.NormFloat64()) * p.Hardware.NoiseW
		f.PowerW = (f.PowerW + n).Clamp(-gridmesh.MaxHomePowerW, gridmesh.MaxHomePowerW)
	}
	return f
}

// stepLoads integrates the charger and the heat pump from at over dt
// (dt 0: their power at at) under the commands in force, or with no
// supply on a dead bus: the car does not charge and the house cools. The
// caller holds h.mu.
func (h *Home) stepLoads(at time.Time, dt time.Duration) {
	evCmd, hpCmd := h.evCmd, h.hpCmd
	if h.grid.Dead() {
		evCmd = ChargerCommand{Manual: true}
		hpCmd.Unpowered = true
	}
	if c := h.params.Charger; c != nil {
		h.ev = c.Step(h.ev, evCmd, at, dt)
	}
	if hp := h.params.HeatPump; hp != nil {
		h.thermal = hp.Step(h.thermal, hpCmd, at, dt)
	}
}

// ErrInvalidCommand is wrapped by the error a device returns for a
// command it refuses (a non-finite power).
var ErrInvalidCommand = errors.New("sim: invalid command")

// refuse returns the permanent device error for a refused command.
func refuse(device, op string, w gridmesh.W) error {
	return &gridmesh.DeviceError{Device: device, Op: op, Err: fmt.Errorf("%w: %v is not finite", ErrInvalidCommand, w)}
}
