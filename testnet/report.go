package testnet

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/gridmesh/gridmesh"
)

// Report is what a testnet run measured. Its JSON keys are stable: tools
// and tests read them.
type Report struct {
	Homes         int      `json:"homes"`
	Neighborhoods int      `json:"neighborhoods"`
	DurationS     float64  `json:"duration_s"`
	Scenario      []string `json:"scenario"`
	Seed          int64    `json:"seed"`

	// RanS is how long the scenarios ran, from the last home listening
	// to the end: DurationS, and longer when a fault fired late (it
	// keeps its recovery window) or a scenario awaited its verdicts
	// (see the package doc). EventsLateMaxMs is the most any scenario
	// event fired after its time: the machine's load shows here.
	RanS            float64 `json:"ran_s"`
	EventsLateMaxMs float64 `json:"events_late_max_ms"`
	// StartupS is from the command (Run called) to the last home
	// listening; AllPlannedS from the command to the first sample by
	// which every neighborhood had had all its live homes on a plan at
	// once (0: some neighborhood never had). Both include making every
	// home's key, devices and certificate.
	StartupS    float64 `json:"startup_s"`
	AllPlannedS float64 `json:"all_planned_s"`
	// AllPlannedCPUS is the CPU time (user and system) the process had
	// used by then: unlike AllPlannedS, a figure other load on the
	// machine does not inflate.
	AllPlannedCPUS float64 `json:"all_planned_cpu_s"`
	// CPUS is the CPU time (user and system) the process spent from the
	// city's start to its stop, start-up and stop included, in seconds;
	// CPUCorePct the process's CPU over the scenarios (RanS) as a share
	// of one core, in percent; MaxRSSMB the process's peak resident
	// memory, in MiB. The city runs in one process, so these are its
	// cost (cost.go); CPU time does not grow with other load on the
	// machine the way wall-clock figures do.
	CPUS       float64 `json:"cpu_s"`
	CPUCorePct float64 `json:"cpu_core_pct"`
	MaxRSSMB   float64 `json:"max_rss_mb"`

	Neighborhood []NeighborhoodReport `json:"neighborhood"`

	// SignalToSetpointMs: from a target change reaching the leader to each
	// home applying the plan that carries it.
	SignalToSetpointMs Percentiles `json:"signal_to_setpoint_ms"`
	// PrimaryResponseMs (frequency-dip): per home, from its meter reading
	// the step to 49.5 Hz to its battery delivering the full droop
	// response (its whole discharge range added to what it delivered
	// before, within its range), read every 5 ms. Homes with nothing to
	// give (a battery at its floor) are not timed.
	PrimaryResponseMs Percentiles `json:"primary_response_ms"`
	// PrimaryResponseLate: homes that did not reach full droop response
	// within two loop ticks of the step, or not at all.
	PrimaryResponseLate int `json:"primary_response_late"`
	// FailoverMs: one entry per leader kill, from the kill to the first
	// plan of the new leader applied by every surviving home.
	FailoverMs []float64 `json:"failover_ms"`
	// HomesWithoutValidPlanMax: the most homes at any sample, after their
	// first plan, whose plan lease had run out.
	HomesWithoutValidPlanMax int `json:"homes_without_valid_plan_max"`
	// LoopTicksMissed: device-loop ticks that started over a period late.
	LoopTicksMissed uint64 `json:"loop_ticks_missed"`
	// LoopTicksUnsettled: ticks a home skipped because its meter and
	// battery readings did not both postdate the battery's last command
	// (see package node); they keep the last command for one more tick.
	LoopTicksUnsettled uint64 `json:"loop_ticks_unsettled"`
	// LoopTicks: every tick of every home, for scale.
	LoopTicks uint64 `json:"loop_ticks"`
	// RejectedMessages: gossip messages refused at validation and peers
	// refused admission ("admission-refused/<detail>"), by reason;
	// reasons never seen are left out.
	RejectedMessages map[string]uint64 `json:"rejected_messages"`
	// AdmissionRefused: peers the homes refused admission to their
	// neighborhood, all details together.
	AdmissionRefused uint64 `json:"admission_refused"`
	// PlansFromNonMembersApplied: plans a home applied that a rogue (a
	// non-member) published; anything but 0 is a breach.
	PlansFromNonMembersApplied uint64 `json:"plans_from_non_members_applied"`
	// RoguePlansPublished, RogueRaftRPCs and RogueRaftRPCsAnswered (rogue):
	// what the rogues tried, so that the 0 above is not a vacuous one,
	// and how many of their Raft RPCs a home answered (again, anything
	// but 0 is a breach).
	RoguePlansPublished   uint64 `json:"rogue_plans_published,omitempty"`
	RogueRaftRPCs         uint64 `json:"rogue_raft_rpcs,omitempty"`
	RogueRaftRPCsAnswered uint64 `json:"rogue_raft_rpcs_answered"`
	// StalePlansApplied: plans a home applied after some home of its
	// neighborhood had applied a plan of a newer term — a deposed
	// leader's plan getting through; anything but 0 is a breach.
	// StalePlansPublished: plans a deposed leader published after that
	// point (pause-leader makes it happen), so that the 0 is not vacuous.
	StalePlansApplied   uint64 `json:"stale_plans_applied"`
	StalePlansPublished uint64 `json:"stale_plans_published"`
	// Attacks: what the attack scenarios did (attacks.go).
	Attacks *AttacksReport `json:"attacks,omitempty"`
	// Churn: what the churn and pause-leader scenarios did.
	Churn ChurnReport `json:"churn"`
	// PlansRefused: plans that passed gossip validation but that a home's
	// loop refused (stale after fencing, expired, invalid), by reason.
	PlansRefused map[string]uint64 `json:"plans_refused"`
	// PlansOnBeacons: plans homes outside the Raft configuration had from
	// their leader's beacons rather than the plan topic.
	PlansOnBeacons uint64 `json:"plans_on_beacons"`
	// Island (outage): how the homes were served while the grid was gone.
	Island *IslandReport `json:"island,omitempty"`
	// ForecastSkill: the rationing's forecast against the run's own
	// critical load and PV (forecast.go); absent in a run shorter than
	// two forecast steps of simulated time.
	ForecastSkill *ForecastSkillReport `json:"forecast_skill,omitempty"`
	// Telemetry: how often the homes reported, and what they shed while
	// the machine could not keep up (telemetry.go).
	Telemetry TelemetryReport `json:"telemetry"`
	// Gossip: the homes' gossip messages and RPCs per home per second
	// once every neighborhood was planned (gossip.go); absent if none
	// ever was.
	Gossip *GossipReport `json:"gossip,omitempty"`
	// Degraded: what else the city gave up while the machine could not
	// carry it: older plans, later plans, late admissions (degraded.go).
	Degraded DegradedReport `json:"degraded"`
	// DeviceErrors: device reads or writes that failed.
	DeviceErrors uint64 `json:"device_errors"`
	// Errors lists what went wrong; empty on a clean run.
	Errors []string `json:"errors"`
	// Archive is what the run's archiver wrote (Config.Archive).
	Archive *ArchiveReport `json:"archive,omitempty"`

	// SignalsRejected: operator signals the homes refused, by reason
	// (bad-signature, expired, too-early, replayed, ...; regional.go).
	SignalsRejected map[string]uint64 `json:"signals_rejected"`
	// RegionAggregates: who received the neighborhoods' aggregates
	// (only leaders join their topic).
	RegionAggregates RegionAggregatesReport `json:"region_aggregates"`
	// PJMScore (regulation): the region's response scored as PJM Manual
	// 12 scores a regulation resource; absent when the run is too short
	// (see Regulation.PJMScoreError).
	PJMScore   *PJMScore         `json:"pjm_score,omitempty"`
	Regulation *RegulationReport `json:"regulation,omitempty"`

	// Series are the run's time series, which the HTML report plots
	// (series.go); absent from a report that was not measured.
	Series *Series `json:"series,omitempty"`
}

// NeighborhoodReport is one neighborhood's part of the report.
type NeighborhoodReport struct {
	ID             gridmesh.NeighborhoodID `json:"id"`
	Homes          int                     `json:"homes"`
	LiveHomes      int                     `json:"live_homes"`
	Leader         gridmesh.HomeID         `json:"leader"`
	LeaderChanges  int                     `json:"leader_changes"`
	PlansCommitted uint64                  `json:"plans_committed"`
	// PlanCoverage is the share of live homes whose applied plan is the
	// neighborhood's latest committed one, at the end.
	PlanCoverage float64 `json:"plan_coverage"`
	// FirstPlanMs is from the first home of the city starting to the
	// first plan applied in this neighborhood.
	FirstPlanMs float64    `json:"first_plan_ms"`
	TargetW     gridmesh.W `json:"target_w"`
	// AchievedW is the mean feeder import over the steady samples of the
	// final target.
	AchievedW gridmesh.W `json:"achieved_w"`
	// TrackingErrorPct is the mean absolute error of the feeder import
	// against the target over the steady part of the run, in % of the
	// target's magnitude, or of the neighborhood's battery power rating
	// where the target is under a tenth of that rating.
	TrackingErrorPct float64 `json:"tracking_error_pct"`
	SteadySamples    int     `json:"steady_samples"`
	// ClustersFormed: Raft clusters founded in the neighborhood over the
	// run (every home's every run); 1 is right, anything else a split.
	// ClusterMerges: homes that wiped their state to join the cluster
	// the merge rule chose.
	ClustersFormed uint64 `json:"clusters_formed"`
	ClusterMerges  uint64 `json:"cluster_merges"`
	// OtherClusterStreams: Raft streams the neighborhood's homes refused
	// because they came from another cluster of it (0 unless it split).
	OtherClusterStreams uint64 `json:"raft_streams_other_cluster"`
	// RegionalShareW is the neighborhood's share of the last regional
	// signal it carried, as its leader computed it.
	RegionalShareW gridmesh.W `json:"regional_share_w"`
	// TargetSteps (a run with an outside operator): every new target its
	// plans carried, and when its homes applied it (operator.go).
	TargetSteps []TargetStep `json:"target_steps,omitempty"`
}

// Percentiles summarizes a distribution.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// percentiles computes nearest-rank percentiles of xs.
func percentiles(xs []float64) Percentiles {
	if len(xs) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Percentiles{N: len(s), P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1]}
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

// RegionAggregatesReport counts the aggregate messages the homes
// received (first copies and duplicates), over every run of every home.
type RegionAggregatesReport struct {
	// HomesReceiving: homes that received any (those that led at some
	// time), of Homes.
	HomesReceiving int `json:"homes_receiving"`
	Homes          int `json:"homes"`
	// Copies is the sum over homes, CopiesMax the most one home received.
	Copies    uint64 `json:"copies"`
	CopiesMax uint64 `json:"copies_max"`
}
