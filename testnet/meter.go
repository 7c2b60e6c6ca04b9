package testnet

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// feederMeter meters one neighborhood's feeder and judges tracking. It is
// owned by the run's goroutine.
type feederMeter struct {
	nb *neighborhood

	targetAt     time.Time // when the target last changed
	allPlannedAt time.Time // when every live home first followed a plan
	// ratingW is the neighborhood's battery power rating: the error scale
	// where the target is near zero.
	ratingW gridmesh.W

	errSum        float64 // Σ |feeder − target| / scale over steady samples
	steady        int
	achievedSum   float64 // Σ feeder over steady samples of the current target
	achievedN     int
	leader        gridmesh.HomeID
	term          uint64
	leaderChanges int

	lastFeederW gridmesh.W
	lastPlanned int
	lastLive    int

	// disturbing is true while the grid is disturbed on purpose (a
	// frequency dip), and disturbedAt is when the last disturbance began
	// or ended: the feeder leaves its target then, so those samples and
	// Settle after them are not steady.
	disturbing  bool
	disturbedAt time.Time
}

func newFeederMeter(nb *neighborhood, t0 time.Time) *feederMeter {
	m := &feederMeter{nb: nb, targetAt: t0}
	for _, h := range nb.homes {
		m.ratingW += h.params.Battery.MaxDischargeW
	}
	return m
}

func (m *feederMeter) targetChanged(now time.Time) {
	m.targetAt = now
	m.achievedSum, m.achievedN = 0, 0
}

// disturbed marks the start (on) or end of a deliberate disturbance.
func (m *feederMeter) disturbed(now time.Time, on bool) {
	m.disturbing, m.disturbedAt = on, now
}

// sampleResult is what one sample saw.
type sampleResult struct {
	withoutPlan int
	lost        []gridmesh.HomeID // homes whose plan lease ran out
	// leader is the home the sample saw lead, in term; empty when none
	// did.
	leader gridmesh.HomeID
	term   uint64
}

// sample reads every live home's meter and plan at now (adding the age
// of each home's plan to planAge) (node.Brief: a
// few atomics a home, where Status would cost the city a tenth of its
// CPU at ten samples a second). The sample
// counts toward tracking when the feeder has had Settle to answer the
// last start, target change, failover and disturbance, and no
// disturbance is under way.
func (m *feederMeter) sample(now time.Time, nb *neighborhood, failoverPending bool, failoverDone time.Time, settle time.Duration, planAge *msHist) sampleResult {
	var res sampleResult
	var feeder gridmesh.W
	live := nb.live()
	planned := 0
	var leader gridmesh.HomeID
	var term uint64
	for _, h := range live {
		feeder += h.dev.Snapshot().NetW
		s := h.node.Brief()
		if s.HasPlan {
			planned++
			planAge.add(ms(now.Sub(s.PlanIssued)))
		} else if s.EverPlanned {
			res.withoutPlan++
			res.lost = append(res.lost, h.id)
		}
		if s.IsLeader && s.Term >= term {
			leader, term = h.id, s.Term
		}
	}
	res.leader, res.term = leader, term
	if leader != "" && leader != m.leader {
		if m.leader != "" {
			m.leaderChanges++
		}
		m.leader = leader
	}
	if leader != "" {
		m.term = term
	}
	m.lastFeederW, m.lastPlanned, m.lastLive = feeder, planned, len(live)
	if m.allPlannedAt.IsZero() && len(live) > 0 && planned == len(live) {
		m.allPlannedAt = now
	}
	steady := !m.allPlannedAt.IsZero() && now.Sub(m.allPlannedAt) >= settle &&
		now.Sub(m.targetAt) >= settle && !failoverPending &&
		!m.disturbing && (m.disturbedAt.IsZero() || now.Sub(m.disturbedAt) >= settle) &&
		(failoverDone.IsZero() || now.Sub(failoverDone) >= settle)
	if !steady {
		return res
	}
	target := nb.target.ImportW - nb.regionalW // less the regional share (regional.go)
	scale := math.Abs(float64(target))
	if scale < 0.1*float64(m.ratingW) {
		scale = float64(m.ratingW)
	}
	m.errSum += math.Abs(float64(feeder-target)) / scale
	m.steady++
	m.achievedSum += float64(feeder)
	m.achievedN++
	return res
}

// trackingErrorPct is the mean scaled absolute error, in percent.
func (m *feederMeter) trackingErrorPct() float64 {
	if m.steady == 0 {
		return 0
	}
	return 100 * m.errSum / float64(m.steady)
}

// achieved is the mean feeder import over the steady samples of the
// current target.
func (m *feederMeter) achieved() gridmesh.W {
	if m.achievedN == 0 {
		return 0
	}
	return gridmesh.W(m.achievedSum / float64(m.achievedN))
}
