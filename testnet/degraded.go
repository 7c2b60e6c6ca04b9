package testnet

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// DegradedReport is what the city gave up while the machine could not
// carry it, beside the telemetry it shed (TelemetryReport): homes follow
// older plans, leaders publish them later, members are admitted late.
// A city the machine carries shows plan ages and gaps of about a plan
// period and zeros elsewhere.
type DegradedReport struct {
	// PlanAgeMs: how old the plan each home followed was, at every
	// sample: the sample's time less the plan's issue time, over every
	// live home with a plan (lease: node.Config.PlanLease).
	PlanAgeMs Percentiles `json:"plan_age_ms"`
	// PlanGapMs: time from one plan a neighborhood's leader published to
	// the next one published there, over every neighborhood (a failover
	// is one long gap).
	PlanGapMs Percentiles `json:"plan_gap_ms"`
	// PlansLate: gaps longer than twice the plan period.
	PlansLate uint64 `json:"plans_late"`
	// AdmittedLate: members a home admitted after its admission timeout
	// had passed, in the patience it gives a peer that may be a member
	// slowed down (mesh.DegradedAdmittedLate).
	AdmittedLate uint64 `json:"admitted_late"`
	// PresentRetries: presentations of a home's certificate tried again
	// after one failed (mesh.DegradedPresentRetries).
	PresentRetries uint64 `json:"present_retries"`
	// BlocksLifted: blocks for presenting nothing in time that a valid
	// certificate lifted (mesh.DegradedBlocksLifted).
	BlocksLifted uint64 `json:"blocks_lifted"`
}

// add counts one home run's counters.
func (d *DegradedReport) add(c map[string]uint64) {
	d.AdmittedLate += c[mesh.DegradedAdmittedLate]
	d.PresentRetries += c[mesh.DegradedPresentRetries]
	d.BlocksLifted += c[mesh.DegradedBlocksLifted]
}

// degradedMeanings are DegradedReport's lines of figureMeanings.
var degradedMeanings = map[string]string{
	"degraded.plan_age_ms.n":   "samples of a home's plan age (every live home with a plan, every sample)",
	"degraded.plan_age_ms.p50": "median age of the plan a home followed, ms (older plans while the machine is short of CPU)",
	"degraded.plan_age_ms.p99": "99th percentile of the age of the plan a home followed, ms",
	"degraded.plan_age_ms.max": "oldest plan a home followed at a sample, ms",
	"degraded.plan_gap_ms.n":   "plans published after a neighborhood's first",
	"degraded.plan_gap_ms.p50": "median time between a neighborhood's plans, ms (the plan period when the machine keeps up)",
	"degraded.plan_gap_ms.p99": "99th percentile of the time between a neighborhood's plans, ms",
	"degraded.plan_gap_ms.max": "longest a neighborhood went without a new plan, ms (a failover included)",
	"degraded.plans_late":      "times a neighborhood's next plan came more than two plan periods after the last",
	"degraded.admitted_late":   "members admitted after the admission timeout, in the patience given a peer slowed down",
	"degraded.present_retries": "presentations of a home's certificate tried again after one failed",
	"degraded.blocks_lifted":   "blocks for presenting nothing in time lifted by a valid certificate",
}

// msHist is a histogram of milliseconds in 10 ms buckets up to 120 s
// (beyond: the last bucket), for distributions too long to keep whole:
// a plan age a home a sample is 2.4 million figures in a 2,000-home,
// 120 s run. Percentiles are nearest-rank to the bucket's upper bound
// (never above the largest figure). Not safe for concurrent use.
type msHist struct {
	counts []uint64
	n      int
	max    float64
}

const (
	histStepMs  = 10
	histBuckets = 12_000
)

func (h *msHist) add(ms float64) {
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	i := min(max(int(math.Ceil(ms/histStepMs))-1, 0), histBuckets-1) // bucket i holds (10i, 10i+10] ms
	h.counts[i]++
	h.n++
	h.max = max(h.max, ms)
}

func (h *msHist) percentiles() Percentiles {
	if h.n == 0 {
		return Percentiles{}
	}
	rank := func(p float64) float64 {
		want := uint64(max(math.Ceil(p*float64(h.n)), 1))
		var seen uint64
		for i, c := range h.counts {
			if seen += c; seen >= want && i < histBuckets-1 {
				return min(float64((i+1)*histStepMs), h.max)
			}
		}
		return h.max
	}
	return Percentiles{N: h.n, P50: rank(0.50), P99: rank(0.99), Max: h.max}
}

// planGaps times the gaps between a neighborhood's published plans.
// Guarded by the recorder's mu.
type planGaps struct {
	last  map[gridmesh.NeighborhoodID]time.Time
	gaps  msHist
	late  uint64
	limit time.Duration // a gap past it is late; 0: none counted
}

func (g *planGaps) published(nb gridmesh.NeighborhoodID, at time.Time) {
	if g.last == nil {
		g.last = make(map[gridmesh.NeighborhoodID]time.Time)
	}
	if last, ok := g.last[nb]; ok && at.After(last) {
		d := at.Sub(last)
		g.gaps.add(ms(d))
		if g.limit > 0 && d > g.limit {
			g.late++
		}
	}
	if at.After(g.last[nb]) {
		g.last[nb] = at
	}
}
