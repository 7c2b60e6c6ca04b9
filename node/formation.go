package node

import (
	"context"
	"errors"
	"time"

	"github.com/gridmesh/gridmesh/consensus"
)

// formation applies the neighborhood's self-organization rules
// (consensus.FormationConfig) for this home: every round it gathers the
// rules' inputs from the telemetry table and the Raft group, calls the
// rules and makes what they decide. It decides nothing itself. Its fields
// are owned by the organize goroutine.
type formation struct {
	n     *Node
	table *telemetryTable
	st    consensus.FormationState
}

// organize runs founding, naming, merging and upkeep every Period until
// ctx ends.
func (n *Node) organize(ctx context.Context, table *telemetryTable) error {
	f := &formation{n: n, table: table}
	ticker := time.NewTicker(n.cfg.Formation.Period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		n.hold(ctx)
		f.round(ctx, n.now())
	}
}

// round does what this home's role asks once.
func (f *formation) round(ctx context.Context, now time.Time) {
	n := f.n
	// A home that follows a leader reports to it alone, and to the
	// topic (which the others hear) every announceEvery: within that and
	// TelemetryMaxAge of its last announcement, it is fresh here.
	roster := f.table.roster(now, n.cfg.TelemetryMaxAge+n.cfg.announceEvery())
	if !n.group.HasState() {
		f.withoutState(now, roster)
		return
	}
	n.founder.Store("")
	servers, _, err := n.group.Members()
	if f.merge(now, roster, servers, err == nil) {
		return
	}
	isLeader := n.group.IsLeader()
	f.st = f.st.Leading(isLeader, now)
	if !isLeader || !f.named(ctx, now) || err != nil {
		return
	}
	f.upkeep(ctx, now, roster, servers)
}

// withoutState asks to join the cluster the rules pick or, when none is
// heard, takes part in founding one.
func (f *formation) withoutState(now time.Time, roster []consensus.RosterEntry) {
	n := f.n
	var p consensus.WithoutState
	// The cluster followed last, through a pause in its beacons: lying
	// announcements must not move a home that follows one.
	beaconed := n.group.BeaconedWithin(n.cfg.Formation.RemoveAfter)
	// The members of a cluster report to their leader and announce on
	// the topic once every announceEvery: an announcement counts for the
	// cluster (consensus.Joinable) that long past ReplaceAfter, or two
	// members lying every second about a made-up cluster would outnumber
	// the real members between their announcements.
	cfg := n.cfg.Formation
	cfg.ReplaceAfter += n.cfg.announceEvery()
	f.st, p = consensus.PlanWithoutState(f.st, n.id.String(), roster, beaconed, now, cfg)
	if p.Join != "" {
		// A cluster exists: ask to join it (say so at once), and wait
		// for its leader.
		if p.Join != n.group.Joining() {
			n.group.SetJoining(p.Join)
			n.announce()
		}
		n.founder.Store("")
		return
	}
	n.group.SetJoining("")
	n.founder.Store(p.Founding.Founder)
	if p.Founding.Voters != nil {
		f.bootstrap(p.Founding)
	}
}

// bootstrap founds the neighborhood's cluster.
func (f *formation) bootstrap(p consensus.Founding) {
	n := f.n
	switch err := n.group.Bootstrap(p.Voters); {
	case err == nil:
		n.founder.Store("")
		n.stats.clustersFounded.Add(1)
		n.log.Info("founded the neighborhood's cluster", "voters", p.Voters, "homes_seen", p.Seen)
	case errors.Is(err, consensus.ErrHasState):
	default:
		n.log.Warn("bootstrap", "err", err)
	}
}

// named names the cluster if it has no name yet, on the leader, and
// reports whether it has one.
func (f *formation) named(ctx context.Context, now time.Time) bool {
	n := f.n
	if n.group.ClusterID() != "" {
		return true
	}
	got, err := n.group.NameCluster(ctx, consensus.ClusterName(n.id.String(), now))
	if err != nil {
		n.log.Debug("name cluster", "err", err)
		return false
	}
	n.log.Info("cluster named", "cluster", got)
	n.announce() // homes waiting to join learn the name a period sooner
	return true
}

// merge applies the merge rule (consensus.PlanMerge); it reports whether
// this home wiped its state to join another cluster.
func (f *formation) merge(now time.Time, roster []consensus.RosterEntry, servers []consensus.Server, serversKnown bool) bool {
	n := f.n
	leader, _ := n.group.Leader()
	var m consensus.Merge
	f.st, m = consensus.PlanMerge(f.st, consensus.MergeInput{
		Cluster: n.group.ClusterID(), Self: n.id.String(), LeaderKnown: leader != "",
		Servers: servers, ServersKnown: serversKnown, Roster: roster,
	}, now, n.cfg.Formation)
	if m.Winner == "" {
		return false
	}
	if m.Orphaned {
		n.log.Warn("state of no named cluster and no leader heard: joining the neighborhood's cluster", "winner", m.Winner, "no_leader_for", m.NoLeaderFor)
	} else {
		n.log.Warn("two clusters in the neighborhood: joining the one that sorts first", "ours", n.group.ClusterID(), "winner", m.Winner)
	}
	// Ask for the winner before the state goes: from the wipe on, only
	// the winner's members reach this home's Raft, and only its leader
	// adds it.
	n.group.SetJoining(m.Winner)
	if err := n.group.Reset(); err != nil {
		n.log.Error("reset to merge", "err", err)
		return true
	}
	n.stats.clusterMerges.Add(1)
	select {
	case n.rejoinCh <- struct{}{}:
	default: // already pending
	}
	return true
}
