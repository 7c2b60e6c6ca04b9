package ocpp

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("ocpp: invalid config")

// Config is one charger that connects to the home as to its central
// system over OCPP 1.6J.
type Config struct {
	// Addr is the host:port the home listens on for the charger's
	// websocket (the charger's "central system URL" is
	// ws://<home>:<port>/<anything>/<ChargePointID>).
	Addr string
	// ChargePointID is the charger's identity, the last element of the
	// URL it connects to; a connection with another is refused.
	ChargePointID string
	// Device names the charger in errors and logs.
	Device string
	// Connector is the connector steered and read (1 on a single-outlet
	// charger).
	Connector int
	// Phases and VoltageV convert a current to a power: P = I × Phases ×
	// VoltageV (OCPP limits and meters may be in amperes).
	Phases   int
	VoltageV float64
	// MinCurrentA and MaxCurrentA bound the charging current per phase
	// (IEC 61851 allows 6 A to the cable's rating): the charger is off or
	// between them.
	MinCurrentA, MaxCurrentA float64
	// SessionWh is the energy a session is taken to want when it starts
	// (OCPP 1.6 carries nothing of what the car wants): a session wants
	// it less what it has delivered (the meter's energy register since
	// StartTransaction's meterStart).
	SessionWh gridmesh.Wh
	// MinWriteInterval is the least time between two charging profiles
	// sent: a setpoint that changes faster is sent at this pace, its
	// newest value each time.
	MinWriteInterval time.Duration
	// DeadbandW: a setpoint within this of the one the charger holds is
	// not sent again (until the refresh), nor is one whose limit, in the
	// charger's unit, would not change.
	DeadbandW gridmesh.W
	// ProfileValidity is how long a profile holds on the charger (its
	// validTo): if the home dies without releasing it, the charger
	// returns to its default after this long. An unchanged profile is
	// sent again at half of it.
	ProfileValidity time.Duration
	// AnswerTimeout bounds how long the charger may take to answer a
	// request; later, the request counts as failed (a device error).
	AnswerTimeout time.Duration
	// HeartbeatInterval is the interval given to the charger in its
	// BootNotification answer.
	HeartbeatInterval time.Duration
	// SilenceTimeout is how long the connection may carry nothing (no
	// message, no websocket ping) before it is taken as dead: a charger
	// that lost its network silently.
	SilenceTimeout time.Duration
	// RetryMin and RetryMax bound the backoff after a refused or
	// unanswered profile.
	RetryMin, RetryMax time.Duration
}

// DefaultConfig returns a three-phase 230 V charger of 6-16 A (4.1 to
// 11 kW) on connector 1; Addr and ChargePointID are still to be set.
func DefaultConfig() Config {
	return Config{
		Device:      "charger",
		Connector:   1,
		Phases:      3,
		VoltageV:    230,
		MinCurrentA: 6,  // IEC 61851-1's least charging current
		MaxCurrentA: 16, // the common 11 kW wallbox
		// A car that plugs in without the owner saying more: an
		// evening's top-up of a mid-size battery (about half of 60 kWh).
		SessionWh: 30_000,
		// Chargers apply a profile in a second or two; faster changes
		// only queue up (OCPP-J allows one request in flight).
		MinWriteInterval: time.Second,
		// Half an ampere on three phases: finer than most chargers
		// regulate (many take whole amperes).
		DeadbandW: 300,
		// A home that dies leaves the charger capped at most this long;
		// long beside clock skew between home and charger (both take
		// the home's time from the BootNotification and Heartbeat
		// answers).
		ProfileValidity: 15 * time.Minute,
		// Under the guard's one-second call timeout, so that the driver
		// reports its own timeout; a charger on the home's LAN answers
		// in tens of milliseconds.
		AnswerTimeout: 800 * time.Millisecond,
		// The interval OCPP 1.6 implementations commonly give.
		HeartbeatInterval: time.Minute,
		// Two and a half heartbeats: a heartbeat and its retry may be
		// lost; websocket pings (commonly every 30-60 s) also count.
		SilenceTimeout: 150 * time.Second,
		RetryMin:       time.Second,
		RetryMax:       time.Minute,
	}
}

// Bounds on the configuration.
const (
	// maxCurrentA: IEC 62196 type 2 connectors are rated up to 63 A.
	maxCurrentA = 63
	// minVoltageV, maxVoltageV: low-voltage grids, 100 V (Japan) to 400 V
	// (a phase-to-phase connection).
	minVoltageV, maxVoltageV = 100, 400
)

// Validate checks every field and the rules between them.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Addr == "" {
		add("Addr is empty")
	}
	if c.ChargePointID == "" {
		add("ChargePointID is empty")
	}
	if c.Connector < 1 {
		add("Connector %d: connectors count from 1", c.Connector)
	}
	if c.Phases != 1 && c.Phases != 3 {
		add("Phases %d: want 1 or 3", c.Phases)
	}
	if !(c.VoltageV >= minVoltageV && c.VoltageV <= maxVoltageV) {
		add("VoltageV %v outside [%v, %v]", c.VoltageV, minVoltageV, maxVoltageV)
	}
	if !(c.MinCurrentA > 0 && c.MinCurrentA <= c.MaxCurrentA && c.MaxCurrentA <= maxCurrentA) {
		add("current range [%v, %v] A not within (0, %v]", c.MinCurrentA, c.MaxCurrentA, maxCurrentA)
	}
	if !c.SessionWh.Finite() || c.SessionWh < 0 || c.SessionWh > gridmesh.MaxHomeEnergyWh {
		add("SessionWh %v outside [0, %v]", float64(c.SessionWh), float64(gridmesh.MaxHomeEnergyWh))
	}
	if !c.DeadbandW.Finite() || c.DeadbandW < 0 {
		add("DeadbandW %v is negative or not finite", float64(c.DeadbandW))
	}
	for name, d := range map[string]time.Duration{
		"MinWriteInterval": c.MinWriteInterval, "ProfileValidity": c.ProfileValidity, "AnswerTimeout": c.AnswerTimeout,
		"HeartbeatInterval": c.HeartbeatInterval, "SilenceTimeout": c.SilenceTimeout, "RetryMin": c.RetryMin, "RetryMax": c.RetryMax,
	} {
		if d <= 0 {
			add("%s must be positive, got %v", name, d)
		}
	}
	if c.ProfileValidity < 2*time.Minute {
		add("ProfileValidity %v under 2m: a charger's clock may be a minute off", c.ProfileValidity)
	}
	if c.RetryMax < c.RetryMin {
		add("RetryMax %v under RetryMin %v", c.RetryMax, c.RetryMin)
	}
	if c.HeartbeatInterval%time.Second != 0 {
		add("HeartbeatInterval %v: OCPP counts it in whole seconds", c.HeartbeatInterval)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// elec is the configuration's conversion between current and power.
func (c Config) elec() electrical { return electrical{phases: c.Phases, voltageV: c.VoltageV} }

// limits are the least and the most charging power, in W.
func (c Config) limits() (minW, maxW gridmesh.W) {
	e := c.elec()
	return e.watts(c.MinCurrentA), e.watts(c.MaxCurrentA)
}

// finite reports whether f is a number.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
