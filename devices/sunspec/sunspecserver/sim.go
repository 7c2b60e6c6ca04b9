package sunspecserver

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// SimHome is a simulated hybrid home (devices/sim) with a PV inverter
// that can be curtailed: the battery is the sim's, PV production is the
// sim's capped at the limit in force, and the meter adds back what the
// cap withholds. It is safe for concurrent use.
type SimHome struct {
	home  *sim.Home
	peakW gridmesh.W

	mu     sync.Mutex
	limitW gridmesh.W // in [0, peakW]; peakW: none
}

// NewSimHome validates p and returns the home at clock().
func NewSimHome(p sim.HomeParams, clock func() time.Time) (*SimHome, error) {
	h, err := sim.NewHome(p, clock)
	if err != nil {
		return nil, err
	}
	return &SimHome{home: h, peakW: p.PV.PeakW, limitW: p.PV.PeakW}, nil
}

// Home returns the simulated home, for tests to look behind the server.
func (h *SimHome) Home() *sim.Home { return h.home }

// Devices returns the home as a Server's devices.
func (h *SimHome) Devices() Devices { return Devices{Battery: h, Meter: h, PV: h} }

// Battery is the sim's battery.
func (h *SimHome) Battery() (gridmesh.Flexibility, error) { return h.home.Battery() }

// SetBatteryPower commands the sim's battery.
func (h *SimHome) SetBatteryPower(w gridmesh.W) error { return h.home.SetBatteryPower(w) }

// PV reports production capped at the limit; AvailableW is uncapped.
func (h *SimHome) PV() (gridmesh.PVState, error) {
	avail := h.home.Snapshot().PVW
	h.mu.Lock()
	defer h.mu.Unlock()
	return gridmesh.PVState{PowerW: min(avail, h.limitW), AvailableW: avail, LimitW: h.limitW, PeakW: h.peakW}, nil
}

// SetPVLimit caps production at w, clamped to [0, PeakW].
func (h *SimHome) SetPVLimit(w gridmesh.W) error {
	if !w.Finite() {
		return fmt.Errorf("sunspecserver: PV limit %v not finite", w)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.limitW = w.Clamp(0, h.peakW)
	return nil
}

// Meter is the sim's meter plus the production the cap withholds.
func (h *SimHome) Meter() (gridmesh.MeterReading, error) {
	s := h.home.Snapshot()
	m, err := h.home.Meter() // for the grid's voltage and frequency
	if err != nil {
		return m, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m.NetW = s.NetW + s.PVW - min(s.PVW, h.limitW)
	return m, nil
}

// DefaultSimHome is the home ServeSim serves: a 10 kWh, 5 kW battery half
// full, 6 kW of PV from 06:00 to 20:00 and a load of 300 W at night
// peaking near 1.8 kW in the evening.
func DefaultSimHome() sim.HomeParams {
	return sim.HomeParams{
		Battery:    sim.BatteryParams{CapacityWh: 10_000, MaxChargeW: 5_000, MaxDischargeW: 5_000, RoundTripEfficiency: 0.9},
		InitialSoC: 0.5,
		PV:         sim.PVParams{PeakW: 6_000, SunriseHour: 6, SunsetHour: 20},
		Load:       sim.LoadParams{BaseW: 300, MorningPeakW: 600, EveningPeakW: 1_500, Seed: 1},
	}
}

// SimConfig returns DefaultConfig with p's battery ratings and reserve.
// (Its round-trip efficiency has no SunSpec point: set the driver's
// sunspec.Config.RoundTripEfficiency to p.Battery.RoundTripEfficiency.)
func SimConfig(p sim.HomeParams) Config {
	cfg := DefaultConfig()
	cfg.BatteryMaxChargeW, cfg.BatteryMaxDischargeW = p.Battery.MaxChargeW, p.Battery.MaxDischargeW
	cfg.BatteryReserveSoC = p.Battery.ReserveSoC
	return cfg
}

// ServeSim serves DefaultSimHome, on the wall clock, at addr (host:port)
// with DefaultConfig until ctx ends: the `gridmesh devices serve-sunspec`
// command. It logs the address it bound.
func ServeSim(ctx context.Context, addr string, log *slog.Logger) error {
	p := DefaultSimHome()
	h, err := NewSimHome(p, time.Now)
	if err != nil {
		return err
	}
	s, err := New(SimConfig(p), h.Devices(), log)
	if err != nil {
		return err
	}
	if err := s.Listen(addr); err != nil {
		return err
	}
	return s.Run(ctx)
}
