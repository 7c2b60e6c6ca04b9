package mqtt_test

import (
	"sync"

	"github.com/gridmesh/gridmesh"
)

// Small devices with just enough physics to show a setpoint took effect,
// for the kinds devices/sim does not simulate (yet).

// fakePV produces min(available, limit).
type fakePV struct {
	mu sync.Mutex
	st gridmesh.PVState
}

func newFakePV() *fakePV {
	return &fakePV{st: gridmesh.PVState{PowerW: 3500, AvailableW: 3500, LimitW: 5000, PeakW: 5000}}
}

func (p *fakePV) PV() (gridmesh.PVState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st, nil
}

func (p *fakePV) SetPVLimit(w gridmesh.W) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.LimitW = w.Clamp(0, p.st.PeakW)
	p.st.PowerW = min(p.st.AvailableW, p.st.LimitW)
	return nil
}

// fakeCharger charges at 0 or within [MinW, MaxW].
type fakeCharger struct {
	mu sync.Mutex
	st gridmesh.ChargerState
}

func newFakeCharger() *fakeCharger {
	return &fakeCharger{st: gridmesh.ChargerState{Connected: true, MinW: 1400, MaxW: 11000, WantedWh: 20000, DepartureMs: 1_800_000_000_000}}
}

func (c *fakeCharger) Charger() (gridmesh.ChargerState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st, nil
}

func (c *fakeCharger) SetChargePower(w gridmesh.W) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w <= 0 {
		c.st.PowerW = 0
	} else {
		c.st.PowerW = w.Clamp(c.st.MinW, c.st.MaxW)
	}
	return nil
}

// fakeHeatPump draws what it is asked within [0, MaxW].
type fakeHeatPump struct {
	mu sync.Mutex
	st gridmesh.HeatPumpState
}

func newFakeHeatPump() *fakeHeatPump {
	return &fakeHeatPump{st: gridmesh.HeatPumpState{PowerW: 800, MaxW: 3000, IndoorC: 20.5, OutdoorC: -3, BandLowC: 19, BandHighC: 22}}
}

func (h *fakeHeatPump) HeatPump() (gridmesh.HeatPumpState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st, nil
}

func (h *fakeHeatPump) SetHeatPumpPower(w gridmesh.W) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st.PowerW = w.Clamp(0, h.st.MaxW)
	return nil
}

// fakeLoads sheds its non-critical part on request.
type fakeLoads struct {
	mu sync.Mutex
	st gridmesh.LoadState
}

func newFakeLoads() *fakeLoads {
	return &fakeLoads{st: gridmesh.LoadState{CriticalW: 300, NonCriticalW: 700}}
}

func (l *fakeLoads) Loads() (gridmesh.LoadState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st, nil
}

func (l *fakeLoads) ShedNonCritical(shed bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Shed = shed
	return nil
}
