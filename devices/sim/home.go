package sim

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
)

// Home is a simulated home: a battery, a PV array and a household load
// behind one grid meter. Its state evolves with the clock it is given,
// which may run faster than real time: on every call it integrates the
// battery from its last reading of the clock to now under the command in
// force (the command is piecewise constant between calls to
// SetBatteryPower). PV and load are pure functions of the clock.
//
// A Home is safe for concurrent use.
type Home struct {
	params HomeParams
	clock  func() time.Time

	// mu guards the fields below; every method holds it while it advances
	// the battery and reads it, so a reading is of one instant.
	mu       sync.Mutex
	last     time.Time    // clock reading the battery was integrated to
	battery  BatteryState // at last; PowerW is the power delivered at last
	commandW gridmesh.W   // in force since last, already within the limits
}

// HomeSnapshot is everything a Home measures at one instant, for the
// testnet's feeder model and its report.
type HomeSnapshot struct {
	// At is the clock reading the snapshot describes.
	At time.Time
	// LoadW is the household's consumption.
	LoadW gridmesh.W
	// PVW is the PV production, never negative.
	PVW gridmesh.W
	// BatteryW is the power the battery delivers (positive: charging).
	BatteryW gridmesh.W
	// NetW is LoadW - PVW + BatteryW: the import at the grid meter.
	NetW gridmesh.W
	// SoC is the battery's state of charge, 0..1.
	SoC float64
	// StoredWh is the energy in the battery.
	StoredWh gridmesh.Wh
}

// NewHome validates p and returns a home whose battery starts at
// p.InitialSoC and idle, at clock().
func NewHome(p HomeParams, clock func() time.Time) (*Home, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		return nil, errors.New("sim: nil clock")
	}
	return &Home{
		params:  p,
		clock:   clock,
		last:    clock(),
		battery: BatteryState{StoredWh: gridmesh.Wh(p.InitialSoC) * p.Battery.CapacityWh},
	}, nil
}

// Battery returns the battery's flexibility now; PowerW is the power it
// actually delivers now. The error is always nil for a simulated battery.
func (h *Home) Battery() (gridmesh.Flexibility, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	return h.params.Battery.Flexibility(h.battery), nil
}

// SetBatteryPower commands the battery to w from now on (positive:
// charge). The battery clamps the command to its own power limits, and
// stops charging when full or discharging when empty. A non-finite w is
// refused with an error and changes nothing.
func (h *Home) SetBatteryPower(w gridmesh.W) error {
	if !w.Finite() {
		return fmt.Errorf("sim: battery command %v is not finite", w)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	b := h.params.Battery
	h.commandW = w.Clamp(-b.MaxDischargeW, b.MaxChargeW)
	h.battery = b.Step(h.battery, h.commandW, 0)
	return nil
}

// Meter reads the grid meter: net import = load - PV + battery power, now,
// on a healthy 230 V, 50 Hz grid. The error is always nil for a simulated
// meter.
func (h *Home) Meter() (gridmesh.MeterReading, error) {
	return gridmesh.MeterReading{NetW: h.Snapshot().NetW, VoltageV: 230, FrequencyHz: 50, GridOK: true}, nil
}

// Snapshot measures everything at once, now.
func (h *Home) Snapshot() HomeSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.advance()
	s := HomeSnapshot{
		At:       t,
		LoadW:    h.params.Load.PowerAt(t),
		PVW:      h.params.PV.PowerAt(t),
		BatteryW: h.battery.PowerW,
		SoC:      float64(h.battery.StoredWh / h.params.Battery.CapacityWh),
		StoredWh: h.battery.StoredWh,
	}
	s.NetW = s.LoadW - s.PVW + s.BatteryW
	return s
}

// advance integrates the battery from h.last to the clock's reading and
// returns the instant the state now describes. A clock that went back is
// ignored until it passes h.last again. The caller holds h.mu.
func (h *Home) advance() time.Time {
	now := h.clock()
	if !now.After(h.last) {
		return h.last
	}
	b := h.params.Battery
	// Step reports the mean power over the interval; the state keeps the
	// power delivered at its end, which is 0 if a bound was reached.
	h.battery = b.Step(b.Step(h.battery, h.commandW, now.Sub(h.last)), h.commandW, 0)
	h.last = now
	return now
}
