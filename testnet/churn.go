package testnet

import (
	"context"
	"fmt"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/node"
)

// Scenarios of self-organization: how neighborhoods form, heal and
// fence.
const (
	// ScenarioColdStart starts every home of every neighborhood at the
	// same instant; the report counts the clusters each formed.
	ScenarioColdStart = "cold-start"
	// ScenarioChurn makes homes of every neighborhood of five homes or
	// more join late, crash and come back with their state, and leave
	// gracefully and come back, during the run.
	ScenarioChurn = "churn"
	// ScenarioPauseLeader stops each neighborhood's leader from answering
	// for three election timeouts, right between confirming its
	// leadership and publishing a plan (node.Node.Pause), then resumes
	// it; the report counts the stale plans applied.
	ScenarioPauseLeader = "pause-leader"
)

// churnMinHomes is the smallest neighborhood churn touches: it takes two
// homes out at once beside the leader, and three voters must remain.
const churnMinHomes = 5

// staleWatch counts plans applied after some home of the same
// neighborhood had applied a plan of a newer term (the mark of a deposed
// leader's plan getting through), and plans published after that (a
// deposed leader trying, after a newer term applied or committed: so
// that a 0 above is not a vacuous one).
// Guarded by the recorder's mutex.
type staleWatch struct {
	newest    map[gridmesh.NeighborhoodID]uint64 // newest term applied
	committed map[gridmesh.NeighborhoodID]uint64 // newest term committed
	applied   uint64
	published uint64
}

func (s *staleWatch) planApplied(nb gridmesh.NeighborhoodID, e gridmesh.Epoch) {
	if s.newest == nil {
		s.newest = make(map[gridmesh.NeighborhoodID]uint64)
	}
	if e.Term < s.newest[nb] {
		s.applied++
	}
	s.newest[nb] = max(s.newest[nb], e.Term)
}

// PlanCommitted implements node.LeaderObserver: a commit makes its term
// the neighborhood's newest, so a later publication of an older term's
// plan is a deposed leader's.
func (r *recorder) PlanCommitted(_ gridmesh.HomeID, nb gridmesh.NeighborhoodID, e gridmesh.Epoch, _, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stale.committed == nil {
		r.stale.committed = make(map[gridmesh.NeighborhoodID]uint64)
	}
	r.stale.committed[nb] = max(r.stale.committed[nb], e.Term)
}

// PlanPublished implements node.LeaderObserver.
func (r *recorder) PlanPublished(_ gridmesh.HomeID, nb gridmesh.NeighborhoodID, e gridmesh.Epoch, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps.published(nb, at)
	if e.Term < max(r.stale.newest[nb], r.stale.committed[nb]) {
		r.stale.published++
	}
}

// staleCounts returns the stale plans applied and published.
func (r *recorder) staleCounts() (applied, published uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stale.applied, r.stale.published
}

var _ node.LeaderObserver = (*recorder)(nil)

// churnEvents are the churn scenario's events: per neighborhood of
// churnMinHomes or more, its late home joins at a quarter of the run; a
// voter that does not lead crashes at 0.35 and restarts with its key and
// Raft data at 0.55; a home that does not lead leaves gracefully at 0.45
// and comes back at 0.7. Leader kills (d/2) and pauses (0.6) fall in
// between, so the neighborhood heals its voters while others fail.
func (r *run) churnEvents() []event {
	d := r.cfg.Duration
	var evs []event
	for _, nb := range r.c.nbhds {
		if len(nb.homes) < churnMinHomes {
			continue
		}
		var crashed, left *home
		late := nb.homes[len(nb.homes)-1]
		evs = append(evs,
			event{at: d / 4, name: fmt.Sprintf("%s: %s joins", nb.id, late.id), fault: true,
				do: func(ctx context.Context, _ time.Time) { r.restart(ctx, late) }},
			event{at: d * 35 / 100, name: string(nb.id) + ": a voter crashes", fault: true,
				do: func(ctx context.Context, _ time.Time) {
					if crashed = r.awaitPick(ctx, nb, true); crashed != nil {
						r.log.Info("churn: crash", "home", crashed.id)
						r.c.kill(crashed)
						r.churn.crashes++
					}
				}},
			event{at: d * 45 / 100, name: string(nb.id) + ": a home leaves", fault: true,
				do: func(ctx context.Context, _ time.Time) {
					if left = r.awaitPick(ctx, nb, false); left != nil {
						r.log.Info("churn: leave", "home", left.id)
						r.c.leave(ctx, left)
						r.churn.leaves++
					}
				}},
			event{at: d * 55 / 100, name: string(nb.id) + ": the crashed home restarts", fault: true,
				do: func(ctx context.Context, _ time.Time) { r.restart(ctx, crashed) }},
			event{at: d * 70 / 100, name: string(nb.id) + ": the home that left comes back", fault: true,
				do: func(ctx context.Context, _ time.Time) { r.restart(ctx, left) }},
		)
	}
	return evs
}

// pick returns a live home of nb that does not lead, a voter if voter,
// else one that does not vote; nil if none.
func (r *run) pick(nb *neighborhood, voter bool) *home {
	for _, h := range nb.live() {
		if s := h.node.Status(); !s.IsLeader && s.Voter == voter {
			return h
		}
	}
	return nil
}

// awaitPick returns what pick returns, waiting for it up to as long as
// a fault waits for a leader: on a loaded machine a cold-started
// neighborhood may not have named its voters yet when churn begins. If
// none came, it says so in the report and returns nil.
func (r *run) awaitPick(ctx context.Context, nb *neighborhood, voter bool) *home {
	deadline := time.Now().Add(faultLeaderWait * r.cfg.Node.Raft.ElectionTimeout)
	for {
		if h := r.pick(nb, voter); h != nil {
			return h
		}
		if time.Now().After(deadline) || !backoff.Sleep(ctx, leaderPoll) {
			what := "a voter"
			if !voter {
				what = "a home that does not vote"
			}
			r.errors = append(r.errors, fmt.Sprintf("%s: no live home to churn: %s that does not lead", nb.id, what))
			return nil
		}
	}
}

// restart runs h again (its key, devices and Raft data kept), if it is
// not running.
func (r *run) restart(ctx context.Context, h *home) {
	if h == nil || h.alive.Load() {
		return
	}
	if err := r.c.run(ctx, h); err != nil {
		r.errors = append(r.errors, fmt.Sprintf("%s: restart: %v", h.id, err))
		return
	}
	r.churn.joins++
}

// pauseLeaders pauses every neighborhood's leader for three election
// timeouts.
func (r *run) pauseLeaders(ctx context.Context, _ time.Time) {
	d := 3 * r.cfg.Node.Raft.ElectionTimeout
	for _, nb := range r.c.nbhds {
		// Churn may have a neighborhood between leaders right now (a
		// voter restarting, a loaded machine): give it a few elections.
		leader := awaitLeader(ctx, nb, faultLeaderWait*r.cfg.Node.Raft.ElectionTimeout)
		if leader == nil {
			r.errors = append(r.errors, fmt.Sprintf("%s: no leader to pause", nb.id))
			continue
		}
		r.log.Info("pausing leader", "home", leader.id, "for", d)
		leader.node.Pause(d)
		r.churn.pauses++
	}
}

// churnStats counts what the churn and pause-leader scenarios did, for
// the report. Owned by the run's goroutine.
type churnStats struct {
	joins, crashes, leaves, pauses int
}

// reportFormation fills the report's self-organization figures: per
// neighborhood the clusters formed and merges, over every run of every
// home; and the stale plans.
func (r *run) reportFormation(rep *Report) {
	for k, nb := range r.c.nbhds {
		var formed, merges, apart uint64
		for _, h := range nb.homes {
			for _, s := range h.runs {
				formed += s.Counters["clusters_founded"]
				merges += s.Counters["cluster_merges"]
				apart += s.Counters["raft_streams_other_cluster"]
			}
		}
		rep.Neighborhood[k].ClustersFormed = formed
		rep.Neighborhood[k].ClusterMerges = merges
		rep.Neighborhood[k].OtherClusterStreams = apart
		if formed != 1 {
			r.errors = append(r.errors, fmt.Sprintf("%s: %d clusters formed, want 1", nb.id, formed))
		}
	}
	rep.StalePlansApplied, rep.StalePlansPublished = r.rec.staleCounts()
	rep.Churn = ChurnReport{Joins: r.churn.joins, Crashes: r.churn.crashes, Leaves: r.churn.leaves, Pauses: r.churn.pauses}
}

// ChurnReport counts what the churn and pause-leader scenarios did.
type ChurnReport struct {
	Joins   int `json:"joins"`
	Crashes int `json:"crashes"`
	Leaves  int `json:"leaves"`
	Pauses  int `json:"pauses"`
}
