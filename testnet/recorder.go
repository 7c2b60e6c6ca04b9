package testnet

import (
	"slices"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
)

// recorder is the city's node.Observer: it turns plan applications into
// the report's latencies. Its state is guarded by mu; homes call it from
// their device loops, so every method returns at once.
type recorder struct {
	mu sync.Mutex

	// changes are target changes awaiting the homes' first plan carrying
	// them, by neighborhood.
	changes map[gridmesh.NeighborhoodID]*targetChange
	// failovers are leader kills awaiting the new leader's first plan.
	failovers map[gridmesh.NeighborhoodID]*failover

	signalMs   []float64 // target change → a home applies it
	failoverMs []float64 // kill → every survivor applies the new leader's plan
	firstPlan  map[gridmesh.NeighborhoodID]time.Time
	// rogueApplied counts plans applied that carry the rogues' marker.
	rogueApplied uint64
	// stale watches for deposed leaders' plans (churn.go).
	stale staleWatch
	// steps records the targets plans carry, with an outside operator
	// only (operator.go); nil without.
	steps *targetSteps
	// gaps times the gaps between each neighborhood's plans (degraded.go).
	gaps planGaps
}

type targetChange struct {
	seq     uint64
	at      time.Time
	pending map[gridmesh.HomeID]bool
}

type failover struct {
	killedAt time.Time
	oldTerm  uint64
	pending  map[gridmesh.HomeID]bool
	doneAt   time.Time // zero until every survivor applied a new-term plan
}

func newRecorder(planPeriod time.Duration) *recorder {
	return &recorder{
		gaps:      planGaps{limit: 2 * planPeriod},
		changes:   make(map[gridmesh.NeighborhoodID]*targetChange),
		failovers: make(map[gridmesh.NeighborhoodID]*failover),
		firstPlan: make(map[gridmesh.NeighborhoodID]time.Time),
	}
}

// PlanApplied implements node.Observer.
func (r *recorder) PlanApplied(h gridmesh.HomeID, nb gridmesh.NeighborhoodID, epoch gridmesh.Epoch, target gridmesh.Target, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if target.Seq == rogueTargetSeq {
		r.rogueApplied++
		return // it is no plan of the neighborhood's: it times nothing
	}
	r.stale.planApplied(nb, epoch)
	r.steps.planApplied(h, nb, target, at)
	if _, ok := r.firstPlan[nb]; !ok {
		r.firstPlan[nb] = at
	}
	if c := r.changes[nb]; c != nil && target.Seq >= c.seq && c.pending[h] {
		delete(c.pending, h)
		r.signalMs = append(r.signalMs, ms(at.Sub(c.at)))
	}
	if f := r.failovers[nb]; f != nil && f.doneAt.IsZero() && epoch.Term > f.oldTerm && f.pending[h] {
		delete(f.pending, h)
		if len(f.pending) == 0 {
			f.doneAt = at
			r.failoverMs = append(r.failoverMs, ms(at.Sub(f.killedAt)))
		}
	}
}

// targetChanged starts timing a target change reaching the given homes.
func (r *recorder) targetChanged(nb gridmesh.NeighborhoodID, seq uint64, at time.Time, homes []gridmesh.HomeID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes[nb] = &targetChange{seq: seq, at: at, pending: setOf(homes)}
}

// leaderKilled starts timing a failover: done once every survivor has
// applied a plan of a term above oldTerm.
func (r *recorder) leaderKilled(nb gridmesh.NeighborhoodID, oldTerm uint64, at time.Time, survivors []gridmesh.HomeID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failovers[nb] = &failover{killedAt: at, oldTerm: oldTerm, pending: setOf(survivors)}
}

// failoverState reports whether a failover in nb is under way, and when
// the last one finished.
func (r *recorder) failoverState(nb gridmesh.NeighborhoodID) (pending bool, doneAt time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.failovers[nb]
	if f == nil {
		return false, time.Time{}
	}
	return f.doneAt.IsZero(), f.doneAt
}

// unfinished lists neighborhoods whose failover never completed, and the
// homes that never applied the new leader's plan.
func (r *recorder) unfinished() map[gridmesh.NeighborhoodID][]gridmesh.HomeID {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[gridmesh.NeighborhoodID][]gridmesh.HomeID)
	for nb, f := range r.failovers {
		if f.doneAt.IsZero() {
			for h := range f.pending {
				out[nb] = append(out[nb], h)
			}
		}
	}
	return out
}

func setOf(homes []gridmesh.HomeID) map[gridmesh.HomeID]bool {
	m := make(map[gridmesh.HomeID]bool, len(homes))
	for _, h := range homes {
		m[h] = true
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// nonMemberPlans returns how many plans published by a rogue were applied.
func (r *recorder) nonMemberPlans() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rogueApplied
}

// firstPlanAt returns when a home of nb first applied a plan.
func (r *recorder) firstPlanAt(nb gridmesh.NeighborhoodID) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.firstPlan[nb]
	return t, ok
}

// latencies returns the signal-to-setpoint distribution and the failover
// times measured so far.
func (r *recorder) latencies() (Percentiles, []float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return percentiles(r.signalMs), slices.Clone(r.failoverMs)
}

// failoverTimes returns when nb's last leader kill happened and when its
// failover finished (zero if it never did); false without a kill.
func (r *recorder) failoverTimes(nb gridmesh.NeighborhoodID) (killedAt, doneAt time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.failovers[nb]
	if f == nil {
		return time.Time{}, time.Time{}, false
	}
	return f.killedAt, f.doneAt, true
}

// planGapReport returns the gaps between plans and how many were late.
func (r *recorder) planGapReport() (Percentiles, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gaps.gaps.percentiles(), r.gaps.late
}
