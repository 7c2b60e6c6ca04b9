package homefile

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/ocpp"
)

// OCPP is an EV charger that connects to the home over OCPP 1.6J: the home
// is its central system, listening on Listen for the charger's websocket.
type OCPP struct {
	// Listen is the host:port the charger connects to
	// (ws://<home>:<port>/<path>/<charge_point_id>).
	Listen string `yaml:"listen"`
	// ChargePointID is the charger's identity; another is refused.
	ChargePointID string `yaml:"charge_point_id"`
	// Connector is the connector steered (default 1).
	Connector int `yaml:"connector"`
	// Phases (1 or 3, default 3) and Voltage (default 230 V) convert a
	// current to a power.
	Phases  int     `yaml:"phases"`
	Voltage float64 `yaml:"voltage"`
	// MinCurrent and MaxCurrent bound the current per phase, in A
	// (default 6 and 16).
	MinCurrent float64 `yaml:"min_current"`
	MaxCurrent float64 `yaml:"max_current"`
	// SessionEnergy is what a session is taken to want (default 30 kWh):
	// OCPP 1.6 carries nothing of what the car wants.
	SessionEnergy *Energy `yaml:"session_energy"`
	// MinWriteInterval paces charging profiles (default 1s); Deadband is
	// the least move sent (default 300 W).
	MinWriteInterval *Duration `yaml:"min_write_interval"`
	Deadband         *Power    `yaml:"deadband"`
	// AnswerTimeout bounds the charger's answers (default 800ms).
	AnswerTimeout *Duration `yaml:"answer_timeout"`
}

// validateOCPP checks the ocpp block's own rules; the driver's
// configuration checks the rest when the home is built.
func (d *Device) validateOCPP() error {
	if len(d.Kinds) != 1 || d.Kinds[0] != "charger" {
		return fmt.Errorf("ocpp: serves a charger, not %v", d.Kinds)
	}
	if d.OCPP.Listen == "" || d.OCPP.ChargePointID == "" {
		return errors.New("ocpp: listen (host:port) and charge_point_id are required")
	}
	if err := d.OCPP.config(string(d.Name)).Validate(); err != nil {
		return err
	}
	return nil
}

// config is the driver's configuration: its defaults, with the block's
// settings.
func (o *OCPP) config(name string) ocpp.Config {
	cfg := ocpp.DefaultConfig()
	cfg.Addr, cfg.ChargePointID, cfg.Device = o.Listen, o.ChargePointID, name
	for _, s := range []struct {
		set bool
		do  func()
	}{
		{o.Connector != 0, func() { cfg.Connector = o.Connector }},
		{o.Phases != 0, func() { cfg.Phases = o.Phases }},
		{o.Voltage != 0, func() { cfg.VoltageV = o.Voltage }},
		{o.MinCurrent != 0, func() { cfg.MinCurrentA = o.MinCurrent }},
		{o.MaxCurrent != 0, func() { cfg.MaxCurrentA = o.MaxCurrent }},
		{o.SessionEnergy != nil, func() { cfg.SessionWh = gridmesh.Wh(*o.SessionEnergy) }},
		{o.MinWriteInterval != nil, func() { cfg.MinWriteInterval = time.Duration(*o.MinWriteInterval) }},
		{o.Deadband != nil, func() { cfg.DeadbandW = gridmesh.W(*o.Deadband) }},
		{o.AnswerTimeout != nil, func() { cfg.AnswerTimeout = time.Duration(*o.AnswerTimeout) }},
	} {
		if s.set {
			s.do()
		}
	}
	return cfg
}

// addOCPP opens the charger's listener; the charger connects when the
// runner serves.
func (h *Home) addOCPP(d *Device, log *slog.Logger) error {
	c, err := ocpp.Listen(d.OCPP.config(string(d.Name)), log)
	if err != nil {
		return err
	}
	h.closers = append(h.closers, c.Close)
	h.Runners = append(h.Runners, c.Run)
	h.Charger = c
	return nil
}
