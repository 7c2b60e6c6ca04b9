package testnet

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
)

// OutsideOperator lets a grid operator from outside the testnet into a
// run (an OpenADR VEN bridge, say): it gets the run's operator key, which
// every home trusts, a few homes to enter the region through, and the
// city's metered import. The run records every new target its signals
// make the neighborhoods' plans carry (NeighborhoodReport.TargetSteps).
type OutsideOperator struct {
	// Run starts once every home listens and is stopped (its context
	// cancelled) when the scenarios end; the run waits for it to return.
	// An error other than the context's lands in Report.Errors.
	Run func(ctx context.Context, city OperatorAccess) error
}

// OperatorAccess is what an outside operator is given of a run.
type OperatorAccess struct {
	// Key is the run's operator key: every home trusts its signals, and
	// a host presenting a pass signed with it (node.OpenOperator) is let
	// on the region topic although the homes admit members only.
	Key ed25519.PrivateKey
	// Network and Region name the deployment and its region topic.
	Network, Region string
	// Bootstrap are multiaddrs (with /p2p/) of the first home of every
	// neighborhood.
	Bootstrap []string
	// BaselineW is what the neighborhoods' own targets add up to: the
	// region's import with no regional signal in force, against which a
	// capacity limit is measured.
	BaselineW gridmesh.W
	// ImportW reads the city's metered import now: the sum of every live
	// home's meter (the feeders'). Safe for concurrent use.
	ImportW func() gridmesh.W
	// PlanPeriod and Settle are the run's (Config.Node.PlanPeriod and
	// Config.Settle).
	PlanPeriod, Settle time.Duration
}

// TargetStep is one new target a neighborhood's plans carried during a
// run with an outside operator: the neighborhood's own target less its
// share of the regional signals in force, under a new Seq (a signal
// starting, stepping, being withdrawn or ending makes one;
// control.RegionalSeq).
type TargetStep struct {
	Seq uint64 `json:"seq"`
	// ImportW is the first plan's target under Seq; OffsetW is the
	// neighborhood's own target less it (its regional share then).
	ImportW gridmesh.W `json:"import_w"`
	OffsetW gridmesh.W `json:"offset_w"`
	// FirstUnixMs is when a home first applied a plan under Seq;
	// AllUnixMs when the last of the homes live at the end had applied
	// one under Seq or a newer one (0: some never did). Unix times, in
	// ms, so that they compare with the operator's signal times.
	FirstUnixMs int64 `json:"first_unix_ms"`
	AllUnixMs   int64 `json:"all_unix_ms"`
	// Homes is how many homes applied a plan under Seq or a newer one.
	Homes int `json:"homes"`
}

// maxTargetSteps bounds the steps kept per neighborhood: an operator
// stepping a signal every 2 s for 10 minutes makes 300.
const maxTargetSteps = 1024

// targetSteps records, per neighborhood, every target Seq its homes
// applied and when each home first did. Homes call it from their device
// loops (through recorder.PlanApplied): every method returns at once.
type targetSteps struct {
	mu      sync.Mutex
	byNbhd  map[gridmesh.NeighborhoodID][]*stepRecord
	dropped int
}

type stepRecord struct {
	seq     uint64
	importW gridmesh.W
	first   time.Time
	applied map[gridmesh.HomeID]time.Time
}

func newTargetSteps() *targetSteps {
	return &targetSteps{byNbhd: map[gridmesh.NeighborhoodID][]*stepRecord{}}
}

// planApplied notes home h of nb applying a plan of target t at at. Nil
// records nothing (a run without an outside operator).
func (s *targetSteps) planApplied(h gridmesh.HomeID, nb gridmesh.NeighborhoodID, t gridmesh.Target, at time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	steps := s.byNbhd[nb]
	i := slices.IndexFunc(steps, func(r *stepRecord) bool { return r.seq == t.Seq })
	if i < 0 {
		if len(steps) >= maxTargetSteps {
			s.dropped++
			return
		}
		steps = append(steps, &stepRecord{seq: t.Seq, importW: t.ImportW, first: at, applied: map[gridmesh.HomeID]time.Time{}})
		slices.SortFunc(steps, func(a, b *stepRecord) int { return cmp.Compare(a.seq, b.seq) })
		s.byNbhd[nb] = steps
		i = slices.IndexFunc(steps, func(r *stepRecord) bool { return r.seq == t.Seq })
	}
	r := steps[i]
	if _, ok := r.applied[h]; !ok {
		r.applied[h] = at
	}
	if at.Before(r.first) {
		r.first = at
	}
}

// report is nb's steps, judged against its own target own and the homes
// live at the end.
func (s *targetSteps) report(nb gridmesh.NeighborhoodID, own gridmesh.W, live []gridmesh.HomeID) []TargetStep {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	steps := s.byNbhd[nb]
	out := make([]TargetStep, len(steps))
	for k, r := range steps {
		out[k] = TargetStep{Seq: r.seq, ImportW: r.importW, OffsetW: own - r.importW, FirstUnixMs: r.first.UnixMilli()}
		// When each home first applied this Seq or a newer one.
		reached := map[gridmesh.HomeID]time.Time{}
		for _, later := range steps[k:] {
			for h, at := range later.applied {
				if old, ok := reached[h]; !ok || at.Before(old) {
					reached[h] = at
				}
			}
		}
		out[k].Homes = len(reached)
		var all time.Time
		for _, h := range live {
			at, ok := reached[h]
			if !ok {
				all = time.Time{}
				break
			}
			if at.After(all) {
				all = at
			}
		}
		if !all.IsZero() {
			out[k].AllUnixMs = all.UnixMilli()
		}
	}
	return out
}

// droppedPlans is how many plans found no room (maxTargetSteps).
func (s *targetSteps) droppedPlans() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// newest is the highest Seq a home of nb applied, 0 before any.
func (s *targetSteps) newest(nb gridmesh.NeighborhoodID) uint64 {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if steps := s.byNbhd[nb]; len(steps) > 0 {
		return steps[len(steps)-1].seq
	}
	return 0
}

// settleOnTargetSteps restarts a feeder's settling when its plans carry a
// new target Seq that the run did not make itself: an outside operator's
// signal started, stepped or ended (the run's own signals restart it in
// regionalChange). The first Seq is the run's start, already settling.
func (r *run) settleOnTargetSteps(now time.Time) {
	if r.rec.steps == nil {
		return
	}
	if r.stepSeen == nil {
		r.stepSeen = make([]uint64, len(r.c.nbhds))
	}
	for k, nb := range r.c.nbhds {
		seq := r.rec.steps.newest(nb.id)
		if seq > r.stepSeen[k] && r.stepSeen[k] != 0 {
			r.meters[k].targetChanged(now)
		}
		r.stepSeen[k] = max(r.stepSeen[k], seq)
	}
}

// access is what the run gives its outside operator.
func (r *run) access() OperatorAccess {
	a := OperatorAccess{
		Key: r.region.priv, Network: r.cfg.Network, Region: r.c.homes[0].cfg.Mesh.RegionName(),
		PlanPeriod: r.cfg.Node.PlanPeriod, Settle: r.cfg.Settle,
	}
	for _, nb := range r.c.nbhds {
		h := nb.homes[0]
		a.Bootstrap = append(a.Bootstrap, h.p2pAddr())
		a.BaselineW += nb.target.ImportW
	}
	nbhds := r.c.nbhds
	a.ImportW = func() gridmesh.W {
		var sum gridmesh.W
		for _, nb := range nbhds {
			for _, h := range nb.live() {
				sum += h.dev.Snapshot().NetW
			}
		}
		return sum
	}
	return a
}

// startOperator runs the outside operator, if any, until the returned
// stop is called; stop waits for it and notes its error.
func (r *run) startOperator(ctx context.Context) (stop func()) {
	op := r.cfg.Operator
	if op == nil || op.Run == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	access := r.access()
	go func() { done <- op.Run(ctx, access) }()
	return func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			r.errors = append(r.errors, fmt.Sprintf("outside operator: %v", err))
		}
	}
}

// reportTargetSteps adds every neighborhood's target steps (a run with an
// outside operator only).
func (r *run) reportTargetSteps(rep *Report) {
	for k, nb := range r.c.nbhds {
		rep.Neighborhood[k].TargetSteps = r.rec.steps.report(nb.id, nb.target.ImportW, homeIDs(nb.live()))
	}
	if n := r.rec.steps.droppedPlans(); n > 0 {
		r.errors = append(r.errors, fmt.Sprintf("target steps: %d plans past the %d steps kept per neighborhood not recorded", n, maxTargetSteps))
	}
}
