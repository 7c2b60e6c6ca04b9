package mqttsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/internal/session"
)

// Sim is one simulated device behind a broker. It is safe for concurrent
// use.
type Sim struct {
	cfg   Config
	log   *slog.Logger
	read  func() (map[string]any, error)  // the reading by logical field name
	apply func(raw json.RawMessage) error // one setpoint value
	run   atomic.Bool
	stats struct {
		published, applied, refused, readErrors atomic.Uint64
	}
}

// Stats counts what a Sim has done.
type Stats struct {
	// StatesPublished is the state payloads the broker accepted.
	StatesPublished uint64
	// SetpointsApplied is the setpoints handed to the device that it
	// took.
	SetpointsApplied uint64
	// SetpointsRefused is the set payloads that did not parse or that the
	// device refused.
	SetpointsRefused uint64
	// ReadErrors is the periods the device's reading failed (nothing was
	// published).
	ReadErrors uint64
}

// NewBattery simulates a battery; cfg.Device.Kind must be battery.
func NewBattery(cfg Config, b Battery, log *slog.Logger) (*Sim, error) {
	if b == nil {
		return nil, errNilDevice
	}
	return newSim(cfg, mqtt.KindBattery, log, func() (map[string]any, error) {
		f, err := b.Battery()
		soc := f.SoC
		if cfg.Device.SoCPercent {
			soc *= 100
		}
		return map[string]any{"power": f.PowerW, "soc": soc, "min": f.MinW, "max": f.MaxW, "capacity": f.CapacityWh,
			"charge": f.ChargeWh, "discharge": f.DischargeWh}, err
	}, applyPower(b.SetBatteryPower))
}

// NewMeter simulates a grid meter; cfg.Device.Kind must be meter.
func NewMeter(cfg Config, m Meter, log *slog.Logger) (*Sim, error) {
	if m == nil {
		return nil, errNilDevice
	}
	return newSim(cfg, mqtt.KindMeter, log, func() (map[string]any, error) {
		r, err := m.Meter()
		return map[string]any{"net": r.NetW, "voltage": r.VoltageV, "frequency": r.FrequencyHz, "grid_ok": r.GridOK}, err
	}, nil)
}

// NewPV simulates a PV inverter; cfg.Device.Kind must be pv.
func NewPV(cfg Config, p PV, log *slog.Logger) (*Sim, error) {
	if p == nil {
		return nil, errNilDevice
	}
	return newSim(cfg, mqtt.KindPV, log, func() (map[string]any, error) {
		s, err := p.PV()
		return map[string]any{"power": s.PowerW, "available": s.AvailableW, "limit": s.LimitW, "peak": s.PeakW}, err
	}, applyPower(p.SetPVLimit))
}

// NewCharger simulates an EV charger; cfg.Device.Kind must be charger.
func NewCharger(cfg Config, c Charger, log *slog.Logger) (*Sim, error) {
	if c == nil {
		return nil, errNilDevice
	}
	return newSim(cfg, mqtt.KindCharger, log, func() (map[string]any, error) {
		s, err := c.Charger()
		return map[string]any{"connected": s.Connected, "power": s.PowerW, "min": s.MinW, "max": s.MaxW,
			"wanted": s.WantedWh, "departure": s.DepartureMs}, err
	}, applyPower(c.SetChargePower))
}

// NewHeatPump simulates a heat pump; cfg.Device.Kind must be heatpump.
func NewHeatPump(cfg Config, h HeatPump, log *slog.Logger) (*Sim, error) {
	if h == nil {
		return nil, errNilDevice
	}
	return newSim(cfg, mqtt.KindHeatPump, log, func() (map[string]any, error) {
		s, err := h.HeatPump()
		return map[string]any{"power": s.PowerW, "max": s.MaxW, "indoor": s.IndoorC, "outdoor": s.OutdoorC,
			"band_low": s.BandLowC, "band_high": s.BandHighC}, err
	}, applyPower(h.SetHeatPumpPower))
}

// NewLoads simulates a household load; cfg.Device.Kind must be loads.
func NewLoads(cfg Config, l Loads, log *slog.Logger) (*Sim, error) {
	if l == nil {
		return nil, errNilDevice
	}
	return newSim(cfg, mqtt.KindLoads, log, func() (map[string]any, error) {
		s, err := l.Loads()
		return map[string]any{"critical": s.CriticalW, "noncritical": s.NonCriticalW, "shed": s.Shed}, err
	}, func(raw json.RawMessage) error {
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			return l.ShedNonCritical(true)
		case "false":
			return l.ShedNonCritical(false)
		}
		return fmt.Errorf("want true or false, got %.32s", raw)
	})
}

// errNilDevice is returned by a constructor given no device.
var errNilDevice = fmt.Errorf("%w: nil device", ErrInvalidConfig)

// applyPower applies a setpoint that is a JSON number of watts.
func applyPower(set func(gridmesh.W) error) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
			return fmt.Errorf("want a number, got %.32s", raw)
		}
		var w float64
		if err := json.Unmarshal(raw, &w); err != nil {
			return err
		}
		return set(gridmesh.W(w))
	}
}

func newSim(cfg Config, k mqtt.Kind, log *slog.Logger, read func() (map[string]any, error), apply func(json.RawMessage) error) (*Sim, error) {
	if cfg.Device.Kind != k {
		return nil, fmt.Errorf("%w: kind %q, want %q for this constructor", ErrInvalidConfig, cfg.Device.Kind, k)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Device.Fields = maps.Clone(cfg.Device.Fields)
	if cfg.ClientID == "" {
		cfg.ClientID = session.RandomClientID("gridmesh-sim-" + cfg.Device.Device)
	}
	return &Sim{
		cfg:   cfg,
		log:   log.With("component", "mqttsim", "device", cfg.Device.Device, "kind", string(k)),
		read:  read,
		apply: apply,
	}, nil
}

// Stats returns the counters now.
func (s *Sim) Stats() Stats {
	return Stats{
		StatesPublished:  s.stats.published.Load(),
		SetpointsApplied: s.stats.applied.Load(),
		SetpointsRefused: s.stats.refused.Load(),
		ReadErrors:       s.stats.readErrors.Load(),
	}
}

// Run connects to the broker and, on every connection, subscribes to the
// set topic and publishes the state at once and then every Period, until
// ctx ends. It reconnects like the driver, and returns ctx's error once
// ctx has ended and its goroutines have exited. Run may be called once.
func (s *Sim) Run(ctx context.Context) error {
	if !s.run.CompareAndSwap(false, true) {
		return errors.New("mqttsim: Run called twice")
	}
	d := s.cfg.Device
	cfg := session.Config{
		Broker:       d.Broker,
		ClientID:     s.cfg.ClientID,
		Username:     d.Username,
		Password:     d.Password,
		ReconnectMin: d.ReconnectMin,
		ReconnectMax: d.ReconnectMax,
	}
	return session.Run(ctx, cfg, s.log, s.serve)
}

// serve runs one connection.
func (s *Sim) serve(ctx context.Context, c *session.Conn) error {
	d := s.cfg.Device
	if d.SetTopic != "" && s.apply != nil {
		if err := c.Subscribe(ctx, d.SetTopic, d.QoS, s.receive); err != nil {
			return err
		}
	}
	t := time.NewTicker(s.cfg.Period)
	defer t.Stop()
	for {
		if err := s.publish(ctx, c); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// publish publishes the device's state now, unless its reading fails.
func (s *Sim) publish(ctx context.Context, c *session.Conn) error {
	payload, err := s.encode()
	if err != nil {
		s.stats.readErrors.Add(1)
		s.log.Debug("not publishing", "err", err)
		return nil
	}
	if err := c.Publish(ctx, s.cfg.Device.StateTopic, s.cfg.Device.QoS, payload); err != nil {
		return err
	}
	s.stats.published.Add(1)
	return nil
}

// encode renders the reading as the driver's config lays it out.
func (s *Sim) encode() ([]byte, error) {
	byName, err := s.read()
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(byName))
	for name, v := range byName {
		if key := s.cfg.Device.Fields[name]; key != "" {
			out[key] = v
		}
	}
	return json.Marshal(out)
}

// receive applies one set payload (on paho's router goroutine).
func (s *Sim) receive(payload []byte) {
	var obj map[string]json.RawMessage
	err := json.Unmarshal(payload, &obj)
	if err == nil {
		raw, ok := obj[s.cfg.SetField]
		if !ok {
			err = fmt.Errorf("no key %q", s.cfg.SetField)
		} else {
			err = s.apply(raw)
		}
	}
	if err != nil {
		s.stats.refused.Add(1)
		s.log.Warn("setpoint refused", "err", err)
		return
	}
	s.stats.applied.Add(1)
}
