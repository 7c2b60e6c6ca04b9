package testnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/node"
)

// Scenario names.
const (
	ScenarioSteady     = "steady"
	ScenarioDR         = "dr"
	ScenarioLeaderKill = "leader-kill"
)

// ScenarioFrequencyDip steps the grid frequency down to full droop
// response and back (see frequency.go).
const ScenarioFrequencyDip = "frequency-dip"

// ScenarioRogue sends hosts that are not members into every neighborhood
// (see rogue.go).
const ScenarioRogue = "rogue"

// Scenarios lists every scenario the testnet knows, in the order they are
// documented.
var Scenarios = []string{ScenarioSteady, ScenarioDR, ScenarioLeaderKill, ScenarioFrequencyDip, ScenarioRogue, ScenarioOutage, ScenarioRegulation,
	ScenarioColdStart, ScenarioChurn, ScenarioPauseLeader, ScenarioFlood, ScenarioLiar, ScenarioSybil, ScenarioReplay, ScenarioWitnessLie, ScenarioRevoke, ScenarioStorm}

// Config describes a city and what happens to it.
type Config struct {
	Homes         int
	Neighborhoods int
	Duration      time.Duration
	// Scenarios are the scenario names to run; see the package doc.
	Scenarios []string
	// Seed makes the homes' devices reproducible.
	Seed int64
	// Network names the deployment (gossip topic names carry it).
	Network string
	// Voters is how many homes of each neighborhood vote in its Raft
	// group (five once it has seven homes, if more than this). The
	// neighborhoods organize themselves: their homes found a cluster and
	// the leader chooses the voters (consensus.FormationConfig).
	Voters int
	// StaticVoters configures the first Voters homes of each
	// neighborhood as its voters instead, as the first city did.
	StaticVoters bool
	// TargetPerHomeW is the steady feeder import asked of a neighborhood,
	// per home.
	TargetPerHomeW gridmesh.W
	// DRCutPerHomeW is how much the dr scenario cuts the import, per home.
	DRCutPerHomeW gridmesh.W
	// SimStart is the simulated time of day the devices start at.
	SimStart time.Time
	// SunSpecHomes is how many homes (the first ones, spread over the
	// neighborhoods) reach their devices over Modbus TCP: a Go SunSpec
	// server in front of each one's simulation and the SunSpec driver in
	// the node, as a home with a real hybrid inverter would.
	SunSpecHomes int
	// StartInterval spaces the starts of a neighborhood's homes, each
	// after the one before it listens, and StartParallel neighborhoods
	// start their homes at once. A home's start is a burst of work
	// (handshakes with its bootstrap peers, gossip subscriptions, Raft
	// joining); a hundred at once on two cores delay the loops of the
	// homes already running by more than a tick, and a home starting
	// beside its bootstrap peer may find it too busy to present its
	// certificate in time. One home at a time, as the first city
	// started, takes minutes for a city of thousands. 0 starts one
	// neighborhood in eight at once (startParallel).
	StartParallel int
	StartInterval time.Duration
	// SamplePeriod is how often the testnet meters feeders and homes.
	SamplePeriod time.Duration
	// Settle is how long after a start, a target change or a failover the
	// feeder is given before its tracking counts as steady.
	Settle time.Duration
	// AdmissionTimeout is how long a home gives a newly connected peer to
	// present its membership certificate (every neighborhood admits its
	// members only); the rogue scenario's host without one is refused
	// that long after it connects.
	AdmissionTimeout time.Duration
	// Regulation is the regulation scenario's signal and offer (regional.go).
	Regulation RegulationConfig
	// Speed runs the homes' devices, profiles and forecasts Speed times
	// faster than real time (the network and the control loops run at
	// real speed); 1 is real time.
	Speed float64
	// Outage is how long the outage scenario loses the grid, in
	// simulated time.
	Outage time.Duration
	// OutageAt is when, in real time from the run's start, the outage
	// scenario loses the grid; 0: two settle times and a second
	// (outageWindow). The storm scenario's warning comes a settle time
	// after the start, so a later OutageAt gives it, and the leaders
	// that must act on it, more time.
	OutageAt time.Duration
	// NoSharing runs the outage with every home on its own (no island
	// plan; each home its own feeder on its own battery): the baseline.
	NoSharing bool
	// DeviceLike gives every home's battery a real one's manners
	// (DeviceLikeBattery: a reaction delay, a ramp, noise on the power it
	// reports); false: ideal batteries, every command in force at once.
	DeviceLike bool
	// FullHomes gives every home an EV charger, a heat pump and
	// sheddable load (sim.RandomFullHome); the outage scenario and
	// Profiles imply it.
	FullHomes bool
	// Profiles, if set, drive every home's load and PV (see profiles.go).
	Profiles *Profiles
	// Node is the template every home's node configuration starts from.
	Node node.Config
	// Summary receives a one-line summary every second; nil for none.
	Summary io.Writer
	// FlooderCommand, when set, runs the flood scenario's flooder as a
	// process of its own: the command and its leading arguments, which
	// must run RunFlooder with a FlooderSpec read as JSON from standard
	// input and write its FlooderResult as JSON to standard output
	// (`gridmesh testnet` sets its own `gridmesh attack-flood`). Empty, the
	// flooder runs in the city's process.
	FlooderCommand []string
	// Archive, if set, is the directory an archiver of every
	// neighborhood writes the run's telemetry, plans, signals and
	// aggregates to, as Parquet files (package archive); the report
	// then counts what it wrote.
	Archive string
	// ArchiveRoll is the window each archive file covers (0: the
	// archiver's default, an hour).
	ArchiveRoll time.Duration
	// Dashboard, if set, serves the city's live page while the city runs
	// (Run closes it), and every home its own page on a loopback port
	// of its own, linked from the city's (dashboard.go).
	Dashboard net.Listener
	// Operator, if set, is a grid operator from outside the testnet let
	// into the run (operator.go).
	Operator *OutsideOperator
	// Transport is the network the homes' hosts speak over: TransportTCP
	// (loopback sockets, the default) or TransportMem (memnet: the same
	// hosts, Noise and yamux included, with no socket, so a city is not
	// bounded by the process's file descriptors and ports). Empty is
	// TCP.
	Transport string
}

// Transports the homes' hosts may speak over (Config.Transport).
const (
	TransportTCP = "tcp"
	TransportMem = "mem"
)

// DefaultConfig is the city `gridmesh testnet` starts with no flags.
func DefaultConfig() Config {
	n := node.DefaultConfig()
	return Config{
		Homes:         12,
		Neighborhoods: 2,
		Duration:      30 * time.Second,
		Scenarios:     []string{ScenarioDR, ScenarioLeaderKill},
		Seed:          1,
		Network:       "testnet",
		Voters:        3,
		// 300 W a home at the evening peak: well below what the homes
		// draw, so the batteries have work to do, and far inside their
		// limits, so the target is feasible.
		TargetPerHomeW: 300,
		DRCutPerHomeW:  500,
		// 17:30 on a winter evening: PV is fading and load is rising,
		// the hour demand response exists for.
		SimStart:      time.Date(2026, 1, 15, 17, 30, 0, 0, time.UTC),
		StartInterval: 25 * time.Millisecond,
		SamplePeriod:  100 * time.Millisecond,
		// Two plan periods: a new target or a new leader's plan reaches
		// every home within one, the next confirms it.
		Settle: 2 * n.PlanPeriod,
		// The mesh's default: a loaded city on two cores never takes
		// that long to present, and a member refused would be locked out.
		AdmissionTimeout: mesh.DefaultAdmissionTimeout,
		Speed:            1,
		// A day without the grid: the night, the PV day and the evening
		// after, the span of an outage that tests a home battery.
		Outage:    24 * time.Hour,
		Node:      n,
		Transport: TransportTCP,
	}
}

// ParseScenarios splits a comma-separated list and checks every name.
func ParseScenarios(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(Scenarios, name) {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(Scenarios, ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Neighborhoods < 1 {
		errs = append(errs, fmt.Errorf("neighborhoods must be at least 1, got %d", c.Neighborhoods))
	}
	if c.Homes < c.Neighborhoods {
		errs = append(errs, fmt.Errorf("homes (%d) must be at least neighborhoods (%d)", c.Homes, c.Neighborhoods))
	}
	if c.SunSpecHomes < 0 || c.SunSpecHomes > c.Homes {
		errs = append(errs, fmt.Errorf("sunspec homes %d outside [0, %d]", c.SunSpecHomes, c.Homes))
	}
	if c.Voters < 1 {
		errs = append(errs, fmt.Errorf("voters must be at least 1, got %d", c.Voters))
	}
	if c.Duration < 3*c.Settle {
		errs = append(errs, fmt.Errorf("duration %v too short: at least %v (three settle times)", c.Duration, 3*c.Settle))
	}
	if c.SamplePeriod <= 0 || c.Settle <= 0 || c.StartInterval < 0 || c.AdmissionTimeout <= 0 || c.StartParallel < 0 {
		errs = append(errs, errors.New("sample period, settle time and admission timeout must be positive, start interval and neighborhoods starting at once not negative"))
	}
	if _, err := ParseScenarios(strings.Join(c.Scenarios, ",")); err != nil {
		errs = append(errs, err)
	}
	if !(c.Speed >= 1 && c.Speed <= maxSpeed) {
		errs = append(errs, fmt.Errorf("speed %v outside [1, %d]", c.Speed, maxSpeed))
	} else if c.has(ScenarioStorm) && !c.has(ScenarioOutage) {
		errs = append(errs, errors.New("the storm scenario announces an outage: run it with outage"))
	} else if c.has(ScenarioOutage) {
		if c.OutageAt != 0 && c.OutageAt <= c.Settle {
			errs = append(errs, fmt.Errorf("outage at %v: after the first settle time (%v) or 0", c.OutageAt, c.Settle))
		} else if _, end := c.outageWindow(); c.Outage <= 0 || end > c.Duration-2*c.Settle {
			errs = append(errs, fmt.Errorf("outage of %v at speed %v ends at %v of real time, past the run's %v less two settle times: lengthen --duration or raise --speed",
				c.Outage, c.Speed, end, c.Duration))
		}
	}
	errs = append(errs, c.validateTransport()...)
	if !c.TargetPerHomeW.Finite() || !c.DRCutPerHomeW.Finite() {
		errs = append(errs, errors.New("targets must be finite"))
	}
	return errors.Join(errs...)
}

// validateTransport checks Transport and what it rules out: on the
// in-memory network nothing outside the process reaches the homes (an
// outside operator), and the archiver opens hosts of its own on TCP.
func (c Config) validateTransport() []error {
	switch c.Transport {
	case "", TransportTCP:
		return nil
	case TransportMem:
		var errs []error
		if c.Operator != nil {
			errs = append(errs, errors.New("an outside operator cannot reach homes on the in-memory network: use the tcp transport"))
		}
		if c.Archive != "" {
			errs = append(errs, errors.New("the archiver's hosts speak TCP: archive with the tcp transport"))
		}
		return errs
	default:
		return []error{fmt.Errorf("unknown transport %q (known: %s, %s)", c.Transport, TransportTCP, TransportMem)}
	}
}

// startParallel is how many neighborhoods start their homes at once:
// StartParallel, or one in eight (at least one). Why one in eight: a city
// of a few neighborhoods starts one home at a time, as the first city
// did (on two loaded cores, two homes starting at once already made a
// short city's formation fail more often); one of 40 neighborhoods
// (1,000 homes) starts five at a time, about 25 s for the city at a
// home per 125 ms in each.
func (c Config) startParallel() int {
	if c.StartParallel > 0 {
		return c.StartParallel
	}
	return max(1, c.Neighborhoods/8)
}

func (c Config) has(scenario string) bool { return slices.Contains(c.Scenarios, scenario) }
