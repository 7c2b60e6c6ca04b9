package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh/consensus"
)

// FormationConfig says how a neighborhood with no configured voters
// (Raft.Servers empty) forms its Raft cluster, keeps its voters and
// heals a split.
//
// Founding: every home reports in its telemetry whether it holds Raft
// state and the name of its cluster. A home with no state that sees no
// home of its neighborhood with any, and the same set of such homes for
// Settle, founds the cluster if its peer ID sorts first among them and
// there are at least Expect: it bootstraps the Expect first as voters;
// the others, holding no state, vote for it and learn the configuration
// from its log. Every other home waits to be added by the leader. Homes
// that start at the same instant all see the same set after a few
// telemetry periods, so one home founds, once.
//
// Merging: if a partition ever lets two clusters form, each leader names
// its cluster (founding time, then leader ID: the older sorts first). A
// home that sees MergeWitnesses homes of its neighborhood announce a
// cluster whose name sorts before its own wipes its Raft state and is
// added by that cluster's leader: every side computes the same winner.
//
// Upkeep, on the leader, every Period (as Consul's autopilot does): every
// home heard from that is not a member is added as a non-voter; the
// neighborhood keeps Voters voters (LargeVoters once it has LargeAt homes
// or more), promoting healthy non-voters that have caught up with the
// log; a voter silent for ReplaceAfter is replaced, a non-voter silent
// for RemoveAfter removed; no voter is ever removed or demoted when the
// voters still heard from would then be fewer than a quorum.
type FormationConfig struct {
	Expect         int
	Settle         time.Duration
	Period         time.Duration
	Voters         int
	LargeVoters    int
	LargeAt        int
	ReplaceAfter   time.Duration
	RemoveAfter    time.Duration
	MergeWitnesses int
}

// DefaultFormationConfig returns the defaults for a home that reports
// every telemetryPeriod.
func DefaultFormationConfig(telemetryPeriod time.Duration) FormationConfig {
	return FormationConfig{
		// Three voters: the fewest that survive a failure.
		Expect: 3,
		// Three reports: a home that started with the others has been
		// heard at least twice by then, even with one report lost.
		Settle: 3 * telemetryPeriod,
		// Half a report period: a new home is added within a second of
		// being heard.
		Period: telemetryPeriod / 2,
		Voters: 3, LargeVoters: 5, LargeAt: 7,
		// Five report periods: longer than a failover and a lost report
		// or two, short enough that the neighborhood is back to full
		// strength before a second failure is likely.
		ReplaceAfter: 5 * telemetryPeriod,
		// Half a minute: a home rebooting keeps its place.
		RemoveAfter: 30 * telemetryPeriod,
		// Two: one home announcing a name cannot make the neighborhood
		// reset (a home that lies about its cluster is one home).
		MergeWitnesses: 2,
	}
}

// Validate checks the configuration.
func (c FormationConfig) Validate() error {
	var errs []error
	if c.Expect < 1 || c.Voters < 1 || c.LargeVoters < c.Voters || c.LargeAt < 1 || c.MergeWitnesses < 1 {
		errs = append(errs, fmt.Errorf("expect %d, voters %d/%d at %d homes, merge witnesses %d: want expect, voters, homes and witnesses ≥ 1 and large voters ≥ voters",
			c.Expect, c.Voters, c.LargeVoters, c.LargeAt, c.MergeWitnesses))
	}
	if c.Settle <= 0 || c.Period <= 0 || c.ReplaceAfter <= 0 || c.RemoveAfter < c.ReplaceAfter {
		errs = append(errs, fmt.Errorf("settle %v, period %v, replace after %v, remove after %v: want positive, remove ≥ replace",
			c.Settle, c.Period, c.ReplaceAfter, c.RemoveAfter))
	}
	return errors.Join(errs...)
}

// formation is one home's share of its neighborhood's self-organization.
// Its fields are owned by the organize goroutine.
type formation struct {
	n     *Node
	table *telemetryTable
	// viewKey is the sorted set of homes without state last seen, and
	// stableSince when it last changed.
	viewKey     string
	stableSince time.Time

	// leaderSince is when this home last became leader; members never
	// heard from count as silent from then.
	leaderSince time.Time
	// leaderHeard is when this home, holding state, last knew a leader
	// (or first held state): see merge.
	leaderHeard time.Time
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
	roster := f.table.roster(now, n.cfg.TelemetryMaxAge)
	if !n.group.HasState() {
		f.leaderSince, f.leaderHeard = time.Time{}, time.Time{}
		if name := f.joinable(now, roster); name != "" {
			// A cluster exists: ask to join it (say so at once), and
			// wait for its leader.
			if name != n.group.Joining() {
				n.group.SetJoining(name)
				n.announce()
			}
			f.viewKey, f.stableSince = "", time.Time{}
			n.founder.Store("")
			return
		}
		n.group.SetJoining("")
		f.found(now, roster)
		return
	}
	n.founder.Store("")
	if f.merge(now, roster) {
		return
	}
	if !n.group.IsLeader() {
		f.leaderSince = time.Time{}
		return
	}
	if f.leaderSince.IsZero() {
		f.leaderSince = now
	}
	if n.group.ClusterID() == "" {
		name := fmt.Sprintf("%013d-%s", now.UnixMilli(), n.id)
		got, err := n.group.NameCluster(ctx, name)
		if err != nil {
			n.log.Debug("name cluster", "err", err)
			return
		}
		n.log.Info("cluster named", "cluster", got)
		n.announce() // homes waiting to join learn the name a period sooner
	}
	f.upkeep(ctx, now, roster)
}

// votes reports whether this home is a voter in the configuration it
// holds.
func (f *formation) votes() bool {
	servers, _, err := f.n.group.Members()
	if err != nil {
		return true // unknown: do not wipe
	}
	self := f.n.id.String()
	return slices.ContainsFunc(servers, func(s consensus.Server) bool { return s.ID == self && s.Voter })
}

// joinable returns the cluster a home without state asks to join: of the
// names homes with state announced within ReplaceAfter, the first in
// sort order among those MergeWitnesses homes announce, or, when none is
// announced by that many (a cluster of one voter, just founded), the
// first of all. "" when no cluster is heard. Reports up to ReplaceAfter
// old count so that a report or two lost does not send a home that
// merged back to the cluster it left; witnesses count so that one home
// lying about its cluster cannot lead the others away from the real one.
func (f *formation) joinable(now time.Time, roster []rosterEntry) string {
	cfg := f.n.cfg.Formation
	witnesses := map[string]int{}
	for _, e := range roster {
		if e.joined && e.cluster != "" && now.Sub(e.heard) <= cfg.ReplaceAfter {
			witnesses[e.cluster]++
		}
	}
	var first, firstWitnessed string
	for name, k := range witnesses {
		if first == "" || name < first {
			first = name
		}
		if k >= cfg.MergeWitnesses && (firstWitnessed == "" || name < firstWitnessed) {
			firstWitnessed = name
		}
	}
	if firstWitnessed != "" {
		return firstWitnessed
	}
	return first
}

// found bootstraps the cluster if this home is the founder: see
// FormationConfig.
func (f *formation) found(now time.Time, roster []rosterEntry) {
	n, cfg := f.n, f.n.cfg.Formation
	self := n.id.String()
	candidates := []string{self}
	agreed := true // every other home without state names this one founder
	for _, e := range roster {
		if !e.fresh {
			continue
		}
		if e.joined || e.cluster != "" {
			// A cluster exists: its leader adds this home.
			f.viewKey, f.stableSince = "", time.Time{}
			n.founder.Store("")
			return
		}
		if id := e.peer; id != self {
			candidates = append(candidates, id)
			agreed = agreed && e.founder == self
		}
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	n.founder.Store(candidates[0])
	if key := strings.Join(candidates, ","); key != f.viewKey {
		f.viewKey, f.stableSince = key, now
		return
	}
	if len(candidates) < cfg.Expect || candidates[0] != self || !agreed || now.Sub(f.stableSince) < cfg.Settle {
		return
	}
	voters := candidates[:cfg.Expect]
	switch err := n.group.Bootstrap(voters); {
	case err == nil:
		n.founder.Store("")
		n.stats.clustersFounded.Add(1)
		n.log.Info("founded the neighborhood's cluster", "voters", voters, "homes_seen", len(candidates))
	case errors.Is(err, consensus.ErrHasState):
	default:
		n.log.Warn("bootstrap", "err", err)
	}
}

// merge applies the merge rule; it reports whether this home wiped its
// state to join another cluster.
//
// A home whose state names no cluster counts as sorting last once it has
// heard no leader for ReplaceAfter and is no voter in the configuration
// it holds: it is orphaned (a leader adds back only homes that name its
// cluster or ask for it). Until then it may be a founding voter before
// the first leader named the cluster, or a member about to hear its
// leader; and a voter never wipes on its own, since its log may be part
// of a quorum that committed an entry.
func (f *formation) merge(now time.Time, roster []rosterEntry) bool {
	n := f.n
	if id, _ := n.group.Leader(); id != "" || f.leaderHeard.IsZero() {
		f.leaderHeard = now
	}
	ours := n.group.ClusterID()
	if ours == "" && (now.Sub(f.leaderHeard) <= n.cfg.Formation.ReplaceAfter || f.votes()) {
		return false
	}
	witnesses := map[string]int{}
	for _, e := range roster {
		if e.fresh && e.cluster != "" && (ours == "" || e.cluster < ours) {
			witnesses[e.cluster]++
		}
	}
	var winner string
	for name, k := range witnesses {
		if k >= n.cfg.Formation.MergeWitnesses && (winner == "" || name < winner) {
			winner = name
		}
	}
	if winner == "" {
		return false
	}
	if ours == "" {
		n.log.Warn("state of no named cluster and no leader heard: joining the neighborhood's cluster", "winner", winner, "no_leader_for", now.Sub(f.leaderHeard))
	} else {
		n.log.Warn("two clusters in the neighborhood: joining the one that sorts first", "ours", ours, "winner", winner)
	}
	// Ask for the winner before the state goes: from the wipe on, only
	// the winner's members reach this home's Raft, and only its leader
	// adds it.
	n.group.SetJoining(winner)
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
