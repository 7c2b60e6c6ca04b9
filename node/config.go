package node

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/node/hass"
)

// Config is one home's configuration.
type Config struct {
	Home         gridmesh.HomeID
	Neighborhood gridmesh.NeighborhoodID
	// Mesh configures the libp2p host and gossip. Mesh.Admission, if set,
	// admits only the neighborhood's members to its topics and to its
	// Raft group; its certificate must be this home's, for Neighborhood.
	Mesh mesh.Config
	// Raft configures the neighborhood's Raft group. Neighborhood and
	// LocalID are filled in by the node. Servers, if set, must list this
	// home; empty (the default), the neighborhood organizes itself as
	// Formation says.
	Raft consensus.Config
	// Formation says how a neighborhood with no configured servers forms
	// its cluster, keeps its voters and heals a split; checked only when
	// Raft.Servers is empty.
	Formation consensus.FormationConfig
	// LoopPeriod is the primary loop's tick.
	LoopPeriod time.Duration
	// TelemetryPeriod is how often the home looks at its reading to
	// report it to its neighborhood: every period while it holds no Raft
	// state, on a change or at the heartbeat once it does (Report).
	TelemetryPeriod time.Duration
	// PlanPeriod is how often the leader makes, commits and publishes a
	// plan. Plans are re-sent every period because gossip guarantees no
	// delivery; applying one twice is harmless.
	PlanPeriod time.Duration
	// PlanLease is how long a plan may be followed after it is issued.
	PlanLease time.Duration
	// TelemetryMaxAge is how old a home's last report may be for the
	// leader to still dispatch to it. It must exceed Report.Heartbeat.
	TelemetryMaxAge time.Duration
	// Report says when a home that holds Raft state reports: on a
	// change beyond a deadband, at least every heartbeat (a home without
	// state reports every TelemetryPeriod). The zero value means
	// control.DefaultReportConfig(TelemetryPeriod).
	Report control.ReportConfig
	// Shedding says when the home judges its process overloaded and
	// withholds changes until the heartbeat. The zero value means
	// control.DefaultSheddingConfig(LoopPeriod, TelemetryPeriod).
	Shedding control.SheddingConfig
	// PlausibleHomeW bounds the powers this home believes of any home's
	// report, as a leader plans with them (control.Plausible); 0 means
	// control.DefaultPlausibleHomeW.
	PlausibleHomeW gridmesh.W
	// Island tunes the balancing of an islanded neighborhood; the zero
	// value means control.DefaultIslandConfig.
	Island control.IslandConfig
	// NoIslandSharing makes the leader plan nothing while the
	// neighborhood is islanded: every home runs on its own battery
	// (testnet --no-sharing, the baseline island mode is measured against).
	NoIslandSharing bool
	// Reserve keeps battery energy back ahead of the evening peak
	// (forecast.go); the zero value keeps none.
	Reserve ReserveConfig
	// InitialAimW is the net import the home's loop aims for before its
	// first plan (a home file's target_w); 0 is self-consumption. Once
	// it has followed a plan, a home without one self-consumes.
	InitialAimW gridmesh.W
	// HTTPAddr is where the JSON status endpoint listens ("" = none). It
	// should be a loopback address: the endpoint has no authentication.
	HTTPAddr string
	// DataDir holds what the home keeps across restarts besides its Raft
	// state (Raft.DataDir): its energy totals. "" keeps them in memory.
	DataDir string
	// HomeAssistant, when set, publishes the home to Home Assistant over
	// MQTT (node/hass; a home file's mqtt_publish block).
	HomeAssistant *hass.Config
}

// DefaultConfig returns the timings of the control layers: a 100 ms
// device loop, 1 s plans, LAN-tuned Raft (consensus.DefaultConfig).
func DefaultConfig() Config {
	return Config{
		Mesh:            mesh.DefaultConfig(),
		Raft:            consensus.DefaultConfig(),
		LoopPeriod:      100 * time.Millisecond,
		TelemetryPeriod: time.Second,
		PlanPeriod:      time.Second,
		// Three plan periods: a plan lost in gossip and a leader election
		// (a few hundred ms on a LAN) both fit inside one lease, so homes
		// keep a valid plan through a failover.
		PlanLease: 3 * time.Second,
		// Five telemetry periods: two heartbeats (control.
		// DefaultReportConfig: 2 s) and a period for delivery, so one
		// lost heartbeat does not drop a home at rest from the plan; a
		// dead home leaves it within 5 s.
		TelemetryMaxAge: 5 * time.Second,
		Formation:       consensus.DefaultFormationConfig(time.Second),
		Island:          control.DefaultIslandConfig(),
	}
}

// Validate checks the configuration, including its cross-field rules.
func (c Config) Validate() error {
	var errs []error
	if err := c.Home.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Neighborhood.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Mesh.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("mesh: %w", err))
	}
	if a := c.Mesh.Admission; a != nil && (a.Own.Neighborhood != c.Neighborhood || a.Own.Home != c.Home) {
		errs = append(errs, fmt.Errorf("membership certificate is for home %s of %s, not %s of %s",
			a.Own.Home, a.Own.Neighborhood, c.Home, c.Neighborhood))
	}
	for name, d := range map[string]time.Duration{
		"LoopPeriod": c.LoopPeriod, "TelemetryPeriod": c.TelemetryPeriod, "PlanPeriod": c.PlanPeriod,
		"PlanLease": c.PlanLease, "TelemetryMaxAge": c.TelemetryMaxAge,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %v", name, d))
		}
	}
	if c.PlausibleHomeW < 0 || !c.PlausibleHomeW.Finite() {
		errs = append(errs, fmt.Errorf("PlausibleHomeW %v must be positive, or 0 for the default", c.PlausibleHomeW))
	}
	if c.PlanLease <= c.PlanPeriod {
		errs = append(errs, fmt.Errorf("PlanLease %v must exceed PlanPeriod %v, or homes lose their plan between two plans", c.PlanLease, c.PlanPeriod))
	}
	if c.PlanLease > gridmesh.MaxLeaseMs*time.Millisecond {
		errs = append(errs, fmt.Errorf("PlanLease %v exceeds the wire maximum %v ms", c.PlanLease, gridmesh.MaxLeaseMs))
	}
	if c.Island != (control.IslandConfig{}) {
		if err := c.Island.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.Reserve.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("reserve: %w", err))
	}
	if len(c.Raft.Servers) == 0 {
		if err := c.Formation.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("formation: %w", err))
		}
	}
	if w := c.InitialAimW; !w.Finite() || w < -gridmesh.MaxHomePowerW || w > gridmesh.MaxHomePowerW {
		errs = append(errs, fmt.Errorf("InitialAimW %v outside ±%v", w, gridmesh.MaxHomePowerW))
	}
	if c.HomeAssistant != nil {
		if err := c.HomeAssistant.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("home assistant: %w", err))
		}
	}
	errs = append(errs, c.validateReporting()...)
	if c.LoopPeriod > c.PlanPeriod {
		errs = append(errs, fmt.Errorf("LoopPeriod %v must not exceed PlanPeriod %v", c.LoopPeriod, c.PlanPeriod))
	}
	return errors.Join(errs...)
}

// UseWANTiming sets the Raft timeouts and the plan lease for homes that
// reach each other over home broadband, or run on a busy box, where a
// LAN's timeouts (the default: 200 ms heartbeat and election, 150 ms
// leader lease, 3 s plan lease) would depose leaders that are merely
// slow: hashicorp/raft's own defaults (1 s, 1 s, 500 ms) and a 6 s plan
// lease, which outlasts a failover at those timeouts.
func (c *Config) UseWANTiming() {
	c.Raft.HeartbeatTimeout, c.Raft.ElectionTimeout = time.Second, time.Second
	c.Raft.LeaderLeaseTimeout = 500 * time.Millisecond
	c.PlanLease = 6 * time.Second
}

// Deps are the home's collaborators.
type Deps struct {
	// Key is the home's libp2p identity; its peer ID is the home's Raft
	// server ID.
	Key crypto.PrivKey
	// Battery and Meter are the home's battery and grid meter.
	Battery control.Battery
	Meter   control.Meter
	// PV, Charger, HeatPump and Loads are the home's other devices; nil
	// for none. Never put a nil pointer in one: the interface would not
	// be nil.
	PV       control.PV
	Charger  control.Charger
	HeatPump control.HeatPump
	Loads    control.Loads
	// MissingKinds reports the kinds of device the home file lists that
	// no device offers (a SunSpec inverter without a PV limit, one whose
	// discovery found no battery): the home runs without them and says so
	// in its status and metrics. nil: none. Called from any goroutine.
	MissingKinds func() []MissingKind
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// Observer is told about applied plans; nil for none.
	Observer Observer
	// Now is the wall clock for leases and timestamps; nil for time.Now.
	Now func() time.Time
	// DeviceNow is the time of the home's physical world, which its
	// devices, profiles and forecasts live in; nil for Now. A testnet
	// running its devices faster than real time sets it.
	DeviceNow func() time.Time
	// Mesh are collaborators for the home's libp2p host, such as
	// mesh.WithTransport: tests run whole homes on an in-memory network
	// (memnet.Network) inside testing/synctest bubbles, and the testnet
	// runs a city on one. nil: TCP on the kernel's sockets.
	Mesh []mesh.Option
}

// LeaderObserver, when the Observer also implements it, is told what the
// home does as its neighborhood's leader: a linearizability checker's
// write operations (PlanCommitted) and the start of each plan's reads by
// the homes (PlanPublished). Called from the dispatcher's goroutine; it
// must return at once.
type LeaderObserver interface {
	// PlanCommitted is called when a Commit begun at began returned the
	// plan's epoch at done.
	PlanCommitted(home gridmesh.HomeID, nbhd gridmesh.NeighborhoodID, epoch gridmesh.Epoch, began, done time.Time)
	// PlanPublished is called just before the committed plan is
	// published: no home can apply it earlier.
	PlanPublished(home gridmesh.HomeID, nbhd gridmesh.NeighborhoodID, epoch gridmesh.Epoch, at time.Time)
}

// Observer is told what a home does, for a testnet's report or a metrics
// exporter. Its methods are called from the device loop's goroutine and
// must return at once: block, and the home's loop misses ticks.
type Observer interface {
	// PlanApplied is called when the home starts following a plan.
	PlanApplied(home gridmesh.HomeID, nbhd gridmesh.NeighborhoodID, epoch gridmesh.Epoch, target gridmesh.Target, at time.Time)
}

// validateReporting checks Report and Shedding, and that the heartbeat
// keeps a home fresh at the leader.
func (c Config) validateReporting() []error {
	var errs []error
	r := c.reportConfig()
	if err := r.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("report: %w", err))
	}
	if r.Period != c.TelemetryPeriod {
		errs = append(errs, fmt.Errorf("report period %v must be TelemetryPeriod %v: the home looks at its reading then", r.Period, c.TelemetryPeriod))
	}
	if r.Heartbeat >= c.TelemetryMaxAge {
		errs = append(errs, fmt.Errorf("report heartbeat %v must be under TelemetryMaxAge %v, or homes at rest drop out of the plans",
			r.Heartbeat, c.TelemetryMaxAge))
	}
	if err := c.sheddingConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// reportConfig is Report or its default.
func (c Config) reportConfig() control.ReportConfig {
	if c.Report == (control.ReportConfig{}) {
		return control.DefaultReportConfig(c.TelemetryPeriod)
	}
	return c.Report
}

// sheddingConfig is Shedding or its default.
func (c Config) sheddingConfig() control.SheddingConfig {
	if c.Shedding == (control.SheddingConfig{}) {
		return control.DefaultSheddingConfig(c.LoopPeriod, c.TelemetryPeriod)
	}
	return c.Shedding
}

// plausibleHomeW is PlausibleHomeW or its default.
func (c Config) plausibleHomeW() gridmesh.W {
	if c.PlausibleHomeW == 0 {
		return control.DefaultPlausibleHomeW
	}
	return c.PlausibleHomeW
}
