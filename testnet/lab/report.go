package lab

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
)

// Report is what a lab run measured. Keys shared with the in-process
// testnet's report (package testnet) mean the same there.
type Report struct {
	RunID         string   `json:"run_id"`
	Homes         int      `json:"homes"`
	Neighborhoods int      `json:"neighborhoods"`
	DurationS     float64  `json:"duration_s"`
	Scenario      []string `json:"scenario"`
	// Link is the links' profile by name, and its figures.
	Link     string      `json:"link"`
	LinkSpec LinkReport  `json:"link_spec"`
	Packets  PacketStats `json:"packets"`

	Neighborhood []NeighborhoodReport `json:"neighborhood"`

	// FailoverMs: one entry per fault that took a leader away (kill,
	// stop, partition), from the fault to the first status poll at which
	// every other home of the neighborhood (the majority's, in a
	// partition) held a valid plan of a newer term. Polls are
	// PollInterval apart: that is the figures' resolution.
	FailoverMs []float64 `json:"failover_ms"`
	// Failover summarizes FailoverMs.
	Failover FailoverSummary `json:"failover"`
	// Faults lists what the lab did, in order, and what it measured.
	Faults []Fault `json:"faults"`
	// HomesWithoutValidPlanMax: the most homes at one poll that had had a
	// plan and whose lease had run out (a partition's cut-off minority
	// counts: it is right to fall back to autonomous control).
	HomesWithoutValidPlanMax int `json:"homes_without_valid_plan_max"`
	// StalePlansApplied: plans a home was seen to apply (its plan epoch
	// changed between polls) whose term was older than a term some home
	// of its neighborhood had applied at an earlier poll; anything but
	// 0 is a breach. PlansRefusedStale: plans the homes' loops refused
	// as stale (their plans_stale counters), so that the 0 is not a
	// vacuous one.
	StalePlansApplied uint64 `json:"stale_plans_applied"`
	PlansRefusedStale uint64 `json:"plans_refused_stale"`
	// MinorityPlansApplied: plans a partition's minority applied that
	// were newer than its leader's last plan the majority held; a
	// minority cannot commit, so anything but 0 is a breach.
	MinorityPlansApplied uint64 `json:"minority_plans_applied"`
	// Linearizable: every neighborhood's plan history, gathered from the
	// homes' plan logs (GET /plans), checked by porcupine against one
	// register holding the newest committed plan (linearize.go);
	// LinearizabilityOps: the operations checked.
	Linearizable       bool                  `json:"linearizable"`
	LinearizabilityOps int                   `json:"linearizability_ops"`
	Linearizability    LinearizabilityReport `json:"linearizability"`

	Kills      int `json:"kills"`
	Stops      int `json:"stops"`
	Partitions int `json:"partitions"`
	// Isolations: homes (not leading) cut off alone; RestartAlls: times
	// every home was killed at once and restarted from disk.
	Isolations  int `json:"isolations"`
	RestartAlls int `json:"restart_alls"`
	// Flaps: leaders' links taken down and up again and again;
	// LossWindows: times every link lost LossPct of its packets.
	Flaps       int `json:"flaps"`
	LossWindows int `json:"loss_windows"`
	// RestartsFromDisk: killed homes restarted from their data directory
	// that came back in the cluster they had left; Restarts counts every
	// restart.
	Restarts         int `json:"restarts"`
	RestartsFromDisk int `json:"restarts_from_disk"`
	// NewClustersAfterRestart: clusters restarted homes founded (0 is
	// right: they hold their Raft state).
	NewClustersAfterRestart uint64 `json:"new_clusters_after_restart"`

	// NATHomes sit behind their own NAT. NATHomesFollowing: those that
	// held a valid plan of their leader's term at the last poll.
	// NATDirect: those whose connections were all direct at the last
	// poll (outbound, or a relayed one replaced by a hole punch or a
	// dial back); NATRelayed: those with a relayed connection then.
	// PublicReachable: public homes whose AutoNAT found them public.
	NATHomes          int             `json:"nat_homes"`
	NATHomesFollowing int             `json:"nat_homes_following"`
	NATDirect         int             `json:"nat_direct"`
	NATRelayed        int             `json:"nat_relayed"`
	PublicReachable   int             `json:"public_homes_reachable"`
	NAT               []NATHomeReport `json:"nat"`

	Processes ProcessReport `json:"processes"`
	// ProcessUsage: every home's CPU and memory from /proc, when
	// sampled (Config.SampleProcs).
	ProcessUsage []ProcessUsage `json:"process_usage,omitempty"`
	// Errors lists what went wrong; empty on a clean run.
	Errors []string `json:"errors"`
}

// NeighborhoodReport is one neighborhood's part of the report.
type NeighborhoodReport struct {
	ID            string `json:"id"`
	Homes         int    `json:"homes"`
	LiveHomes     int    `json:"live_homes"`
	Leader        string `json:"leader"`
	LeaderChanges int    `json:"leader_changes"`
	// PlanCoverage: the share of live homes holding a valid plan of the
	// leader's term at the last poll.
	PlanCoverage float64 `json:"plan_coverage"`
	// FirstPlanMs: from the homes' start to a first plan applied here.
	FirstPlanMs float64 `json:"first_plan_ms"`
	// ClustersFormed: Raft clusters founded here over the run (every
	// incarnation of every home); 1 is right. ClusterMerges: homes that
	// wiped their state to join the cluster the merge rule chose.
	ClustersFormed uint64 `json:"clusters_formed"`
	ClusterMerges  uint64 `json:"cluster_merges"`
}

// Fault is one fault the lab injected.
type Fault struct {
	Kind         string  `json:"kind"`
	Home         string  `json:"home"`
	Neighborhood string  `json:"neighborhood"`
	AtS          float64 `json:"at_s"`
	// FailoverMs is -1 when no failover was seen.
	FailoverMs float64 `json:"failover_ms"`
	// BackMs: from the restart (kill, restart-all), SIGCONT (stop) or
	// heal (partition, isolate) to the first poll at which every home of
	// the neighborhood (every home, for restart-all) held a valid plan
	// of its leader's term; -1 if not within the wait.
	BackMs float64 `json:"back_ms"`
	// Minority is a partition's cut-off side.
	Minority []string `json:"minority,omitempty"`
	// WithoutPlanMax: the most homes of the neighborhood (of the city,
	// for loss and restart-all) at one poll that had had a plan and held
	// none, from the fault until back; LeaderChanges: leaders seen there
	// over the same window.
	WithoutPlanMax int `json:"without_plan_max"`
	LeaderChanges  int `json:"leader_changes"`
	// Downs: how often a flapping link went down.
	Downs int `json:"downs,omitempty"`
}

// NATHomeReport is one home behind NAT at the last poll.
type NATHomeReport struct {
	Home         string `json:"home"`
	Neighborhood string `json:"neighborhood"`
	Following    bool   `json:"following"`
	// Reachability is the home's AutoNAT verdict on itself ("private"
	// is right).
	Reachability string `json:"reachability"`
	// EverPrivate and EverPublic: the home found itself private, or
	// public, at some poll. AutoNAT may fall back to "unknown" between
	// probes; a home behind NAT must have found itself private and never
	// public.
	EverPrivate bool `json:"ever_private"`
	EverPublic  bool `json:"ever_public"`
	Direct      int  `json:"direct"`
	Limited     int  `json:"limited"`
	// EverRelayed: seen with a relayed connection at some poll.
	EverRelayed bool `json:"ever_relayed"`
	// HolePunches, HolePunchFailures, DirectDials: the home's DCUtR
	// outcomes (its current incarnation's).
	HolePunches       uint64 `json:"hole_punches"`
	HolePunchFailures uint64 `json:"hole_punch_failures"`
	DirectDials       uint64 `json:"direct_dials"`
}

// LinkReport states a link profile's figures.
type LinkReport struct {
	DelayMinMs   float64 `json:"delay_min_ms"`
	DelayMaxMs   float64 `json:"delay_max_ms"`
	LossPct      float64 `json:"loss_pct"`
	BurstLoss    bool    `json:"burst_loss"`
	RateMbitPerS float64 `json:"rate_mbit_s"`
}

// PacketStats are what the links carried and dropped, all homes
// together, from the homes (up) and to them (down).
type PacketStats struct {
	Up           uint64 `json:"up"`
	Down         uint64 `json:"down"`
	Lost         uint64 `json:"lost"`
	BurstLost    uint64 `json:"burst_lost"`
	QueueDropped uint64 `json:"queue_dropped"`
	// LinkDownDropped and ImpairedLost: dropped by the flap and loss
	// scenarios, beyond the profile's own losses.
	LinkDownDropped uint64 `json:"link_down_dropped"`
	ImpairedLost    uint64 `json:"impaired_lost"`
}

// ProcessReport counts the homes' processes.
type ProcessReport struct {
	Started int `json:"started"`
	// KilledByLab: incarnations that ended by the lab's SIGKILL or, at
	// the end, its SIGTERM. Unexpected: those that ended otherwise (each
	// is also in errors).
	KilledByLab  int `json:"killed_by_lab"`
	Unexpected   int `json:"unexpected_exits"`
	RunningAtEnd int `json:"running_at_end"`
	// LogErrors: lines at level ERROR, or panics, in the homes' logs.
	LogErrors int `json:"log_errors"`
}

// WriteFile writes the report as indented JSON.
func (r *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// FailoverSummary: the failovers seen, their nearest-rank percentiles
// and maximum in ms, and the faults after which none was seen (within
// the wait: -1 in FailoverMs).
type FailoverSummary struct {
	Samples int     `json:"samples"`
	Missed  int     `json:"missed"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
}

// summarize sums up failovers in ms (-1: not seen).
func summarize(ms []float64) FailoverSummary {
	var seen []float64
	var s FailoverSummary
	for _, v := range ms {
		if v < 0 {
			s.Missed++
			continue
		}
		seen = append(seen, v)
	}
	s.Samples = len(seen)
	if len(seen) == 0 {
		return s
	}
	slices.Sort(seen)
	rank := func(p float64) float64 { return seen[max(0, int(math.Ceil(p*float64(len(seen))))-1)] }
	s.P50Ms, s.P99Ms, s.MaxMs = rank(0.50), rank(0.99), seen[len(seen)-1]
	return s
}
