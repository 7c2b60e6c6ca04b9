package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
)

// dispatch is the secondary layer's runner on a voter. While this home
// leads, it makes a plan every PlanPeriod, when the target changes and
// when it gains leadership; otherwise it waits.
func (n *Node) dispatch(ctx context.Context, table *telemetryTable) error {
	ticker := time.NewTicker(n.cfg.PlanPeriod)
	defer ticker.Stop()
	// followUp re-plans soon after this home gains leadership. Homes that
	// do not vote learn the new term from the new leader's first append
	// or beacon;
	// a plan that reaches them before it is ignored as of an unknown
	// term, and without a follow-up they would wait a whole period.
	followUp := time.NewTimer(time.Hour)
	followUp.Stop()
	defer followUp.Stop()
	beacons := &beaconer{n: n, table: table}
	defer n.islandShare.wg.Wait() // a history summary's commit (islandhistory.go)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		case <-n.targetCh:
		case <-followUp.C:
		case <-n.revokedCh:
			// A revocation enforced here: beacon it to the homes outside
			// the configuration now, not with the next plan.
			if n.group.IsLeader() {
				go beacons.send(context.WithoutCancel(ctx), nil)
			}
			continue
		case <-n.group.LeaderChanges():
			followUp.Reset(n.cfg.PlanPeriod / 5)
			if n.group.IsLeader() {
				beacons.gained(ctx)
			}
		}
		if !n.group.IsLeader() {
			continue
		}
		if err := n.planOnce(ctx, table, beacons); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n.stats.dispatchErrors.Add(1)
			n.log.Warn("plan not published", "err", err)
		}
	}
}

// planOnce makes one plan from one snapshot of the telemetry table,
// commits it to Raft and, once committed and this home's leadership is
// confirmed again, publishes it stamped with its Raft epoch. A plan is never published
// before it is committed: a deposed leader cannot commit, so it cannot
// publish. Nor is it published by a leader a quorum no longer follows:
// one paused between its commit and its publish (a stopped process, a
// long GC) may have been replaced meanwhile, and its plan, though
// committed, must not go out after the new leader's.
func (n *Node) planOnce(ctx context.Context, table *telemetryTable, beacons *beaconer) error {
	n.adoptIslandHistory() // islandhistory.go: before the plan records a sample
	plan, ok, err := n.composePlan(n.now(), table)
	if err == nil && ok {
		err = n.commitAndPublish(ctx, plan, beacons)
	}
	// The history's summary is committed off the plan's path, after it.
	n.shareIslandHistory(ctx, n.now())
	return err
}

// composePlan builds the neighborhood's next plan from one snapshot of
// the telemetry table; ok is false when there is nothing to plan.
func (n *Node) composePlan(now time.Time, table *telemetryTable) (plan gridmesh.Plan, ok bool, err error) {
	target, hasTarget := n.Target()
	if hasTarget {
		target = n.regionalTarget(target, now) // the neighborhood's share of regional signals (region.go)
	}
	// One snapshot of the table for the whole plan: island mode, the
	// reserve and the dispatch all see the same homes.
	reports := table.load().freshReports(now, n.cfg.TelemetryMaxAge)
	// Island mode (island.go): a neighborhood that lost the grid is
	// balanced, target or none, unless every home is to run on its own.
	setpoints, unserved, island, err := n.planIsland(now, reports)
	switch {
	case err != nil:
		return plan, false, fmt.Errorf("island plan: %w", err)
	case island && n.cfg.NoIslandSharing:
		return plan, false, nil // the baseline: no plan, every home on its own
	case !island && !hasTarget:
		return plan, false, nil // nothing asked of the neighborhood yet
	}
	shortfall := unserved
	if !island {
		// The plan states the target asked; a standing outage warning
		// dispatches a higher one (holdReserve).
		res := control.Dispatch(n.holdReserve(now, target, reports, homeStates(reports)))
		setpoints, shortfall = res.Setpoints, res.ShortfallW
	}
	return gridmesh.Plan{
		Version:      gridmesh.WireVersion,
		Neighborhood: n.cfg.Neighborhood,
		IssuedAtMs:   now.UnixMilli(),
		LeaseMs:      uint32(n.cfg.PlanLease / time.Millisecond),
		Target:       target,
		ShortfallW:   shortfall,
		Setpoints:    setpoints,
	}, true, nil
}

// commitAndPublish commits plan to Raft, confirms this home still leads,
// and publishes it; see planOnce for why in that order.
func (n *Node) commitAndPublish(ctx context.Context, plan gridmesh.Plan, beacons *beaconer) error {
	body, err := mesh.EncodePlan(plan)
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	began := n.now()
	epoch, err := n.group.Commit(ctx, body)
	if err != nil {
		var nl *consensus.NotLeaderError
		if errors.As(err, &nl) || errors.Is(err, consensus.ErrLeadershipTransfer) {
			return nil // lost or handing over leadership: the new leader plans
		}
		return fmt.Errorf("commit plan: %w", err)
	}
	plan.Epoch = epoch
	n.stats.plansCommitted.Add(1)
	n.planLog.committed(epoch, began, n.now()) // GET /plans (planlog.go)
	lo, _ := n.deps.Observer.(LeaderObserver)
	if lo != nil {
		lo.PlanCommitted(n.cfg.Home, n.cfg.Neighborhood, epoch, began, n.now())
	}
	if err := n.confirmLeader(ctx); err != nil {
		n.stats.plansFenced.Add(1)
		var nl *consensus.NotLeaderError
		if errors.As(err, &nl) {
			return nil // deposed since the commit: the new leader plans
		}
		return fmt.Errorf("plan %v withheld: %w", epoch, err)
	}
	// A pause (pause.go) requested of this leader begins here, the
	// worst moment: the plan goes out after it, when another may lead.
	n.pauseIfRequested()
	n.hold(ctx)
	// Homes outside the configuration learn the term before its plan,
	// and have the plan on the beacon.
	published, err := mesh.EncodePlan(plan)
	if err != nil {
		return fmt.Errorf("encode plan %v: %w", epoch, err)
	}
	beacons.beforePublish(ctx, published)
	if lo != nil {
		lo.PlanPublished(n.cfg.Home, n.cfg.Neighborhood, epoch, n.now())
	}
	n.planLog.published(epoch, n.now()) // GET /plans (planlog.go)
	if err := n.nbhd.PublishPlan(ctx, plan); err != nil {
		return fmt.Errorf("publish plan %v: %w", epoch, err)
	}
	return nil
}

// confirmLeader asks a quorum whether this home still leads, waiting no
// longer than one PlanPeriod: by then the next plan supersedes this one.
// A leader that lost its quorum steps down within LeaderLeaseTimeout,
// which fails the check sooner.
func (n *Node) confirmLeader(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.PlanPeriod)
	defer cancel()
	return n.group.VerifyLeader(ctx)
}
