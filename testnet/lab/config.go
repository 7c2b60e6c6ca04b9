package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"
)

// Scenarios the lab knows, in the order it runs them.
var Scenarios = []string{"kill", "stop", "partition", "isolate", "flap", "loss", "restart-all"}

// Config is one lab run.
type Config struct {
	// Homes and Neighborhoods: homes are dealt out among neighborhoods
	// (home i joins neighborhood i mod Neighborhoods).
	Homes, Neighborhoods int
	// NATHomes sit each behind its own NAT router (nat.go): dealt over
	// the neighborhoods, never a neighborhood's first home.
	NATHomes int
	// Duration is the least the run lasts; faults run one after another
	// once every neighborhood has formed, and the run lasts until they
	// are done if that is longer.
	Duration time.Duration
	// Link names the links' profile (Profiles).
	Link string
	// Scenarios are faults, run in Scenarios' order.
	Scenarios []string
	// Binary is the gridmesh binary every home runs.
	Binary string
	// Dir holds the homes' files, data directories and logs.
	Dir string
	// RunID names everything the run creates (namespaces carry it);
	// "" draws one. At most 8 characters of [a-z0-9].
	RunID string
	// Seed varies the homes' simulated devices and the links' losses.
	Seed uint64
	// PollInterval is how often every home's status is read.
	PollInterval time.Duration
	// FormTimeout bounds the wait for every neighborhood's first leader
	// and every home's first plan.
	FormTimeout time.Duration
	// KillDowntime: how long a killed home stays down before it restarts
	// from its data directory.
	KillDowntime time.Duration
	// StopHold: how long a stopped leader stays stopped (longer than an
	// election: its term is taken over).
	StopHold time.Duration
	// PartitionHold: how long a partition lasts.
	PartitionHold time.Duration
	// FlapFor: how long a flapping link flaps, down for FlapDown, up for
	// FlapUp, again and again.
	FlapFor, FlapDown, FlapUp time.Duration
	// LossPct of every link's packets is lost for LossFor (loss).
	LossPct float64
	LossFor time.Duration
	// Kills: how many times the kill scenario runs, on the
	// neighborhoods in turn (the failover benchmark: 50 and more).
	Kills int
	// SampleProcs, when positive, is how often the lab reads every
	// home's CPU time and memory from /proc, from the neighborhoods'
	// forming to the end (report: process_usage).
	SampleProcs time.Duration
	// Logger receives the lab's progress; nil discards it.
	Logger *slog.Logger
	// Dashboard, if set, serves the city's live page while the homes
	// run (dashboard.go): the page the testnet serves for its city, and
	// every home's own page under /home/{i}/. Run closes it.
	Dashboard net.Listener
}

// DefaultConfig is `make lab`'s lab: 12 homes in 3 neighborhoods on
// home broadband, each fault once.
func DefaultConfig() Config {
	return Config{
		Homes: 12, Neighborhoods: 3, Duration: 90 * time.Second, Link: "broadband",
		Scenarios: []string{"kill", "stop", "partition"}, Seed: 1,
		PollInterval: 250 * time.Millisecond,
		// Cold start to every home's first plan is about 7 s in process;
		// over broadband at WAN timing, with processes starting one by
		// one, a minute leaves room.
		FormTimeout:   60 * time.Second,
		KillDowntime:  10 * time.Second,
		StopHold:      8 * time.Second, // 8 WAN election timeouts (1 s)
		PartitionHold: 20 * time.Second,
		// Down longer than an election at WAN timing (1 s), so the
		// first down costs a leader its term, and shorter than a plan's
		// lease (6 s), so a follower's plan could outlive a down; up as
		// long, time enough for Raft's next heartbeat to get through.
		FlapFor: 30 * time.Second, FlapDown: 3 * time.Second, FlapUp: 3 * time.Second,
		// A failing home router or a saturated uplink: far beyond the
		// lossy profile's 3 %, for longer than Raft's and the plans'
		// timeouts.
		LossPct: 30, LossFor: 10 * time.Second,
		Kills: 1,
	}
}

// runs lists the faults a run injects, in order: Scenarios with kill
// repeated kills times.
func runs(scenarios []string, kills int) []string {
	var out []string
	for _, s := range scenarios {
		n := 1
		if s == "kill" {
			n = kills
		}
		for range n {
			out = append(out, s)
		}
	}
	return out
}

// ParseScenarios reads a comma-separated list.
func ParseScenarios(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(Scenarios, f) {
			return nil, fmt.Errorf("scenario %q: want some of %s", f, strings.Join(Scenarios, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(Scenarios, a) - slices.Index(Scenarios, b) })
	return out, nil
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Neighborhoods < 1 || c.Neighborhoods > 250 {
		errs = append(errs, fmt.Errorf("neighborhoods %d: want 1..250", c.Neighborhoods))
	}
	if c.Homes < c.Neighborhoods || c.Neighborhoods > 0 && (c.Homes+c.Neighborhoods-1)/c.Neighborhoods > 250 {
		errs = append(errs, fmt.Errorf("homes %d: want at least one per neighborhood and at most 250 in one", c.Homes))
	}
	if _, ok := Profiles[c.Link]; !ok {
		errs = append(errs, fmt.Errorf("link %q: want one of %s", c.Link, strings.Join(ProfileNames, ", ")))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(Scenarios, s) {
			errs = append(errs, fmt.Errorf("scenario %q: want some of %s", s, strings.Join(Scenarios, ", ")))
		}
	}
	if (slices.Contains(c.Scenarios, "partition") || slices.Contains(c.Scenarios, "isolate")) && c.Homes/c.Neighborhoods < 3 {
		errs = append(errs, errors.New("partition and isolate need 3 homes or more per neighborhood (a minority and a majority)"))
	}
	if c.NATHomes < 0 {
		errs = append(errs, fmt.Errorf("nat homes %d: want 0 or more", c.NATHomes))
	} else if c.Homes >= c.Neighborhoods && c.Neighborhoods > 0 && c.NATHomes > c.Homes-c.Neighborhoods {
		errs = append(errs, fmt.Errorf("nat homes %d: at most %d (every neighborhood keeps its first home public)", c.NATHomes, c.Homes-c.Neighborhoods))
	}
	if c.Binary == "" || c.Dir == "" {
		errs = append(errs, errors.New("binary and dir are required"))
	}
	if c.RunID != "" && (len(c.RunID) > 8 || strings.Trim(c.RunID, "abcdefghijklmnopqrstuvwxyz0123456789") != "") {
		errs = append(errs, fmt.Errorf("run ID %q: want at most 8 of [a-z0-9]", c.RunID))
	}
	if c.Duration <= 0 || c.PollInterval <= 0 || c.FormTimeout <= 0 || c.KillDowntime <= 0 || c.StopHold <= 0 || c.PartitionHold <= 0 ||
		c.FlapFor <= 0 || c.FlapDown <= 0 || c.FlapUp <= 0 || c.LossFor <= 0 {
		errs = append(errs, errors.New("durations must be positive"))
	}
	if c.Kills < 1 || c.SampleProcs < 0 {
		errs = append(errs, fmt.Errorf("kills %d, sampling every %v: want at least one kill and no negative period", c.Kills, c.SampleProcs))
	}
	if c.LossPct < 0 || c.LossPct > 100 {
		errs = append(errs, fmt.Errorf("loss %v%%: want 0..100", c.LossPct))
	}
	return errors.Join(errs...)
}
