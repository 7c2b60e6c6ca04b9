package node

import (
	"context"
	"fmt"
	"time"

	"github.com/gridmesh/gridmesh/consensus"
)

// upkeep makes this leader's configuration changes for one round, as
// consensus.PlanUpkeep orders them, stopping at the first that fails:
// the next round plans again from what was done.
func (f *formation) upkeep(ctx context.Context, now time.Time, roster []consensus.RosterEntry, servers []consensus.Server) {
	n := f.n
	changes := consensus.PlanUpkeep(consensus.UpkeepInput{
		Servers: servers, Roster: roster, Self: n.id.String(), Cluster: n.group.ClusterID(),
		LeaderApplied: n.group.AppliedIndex(), LeaderSince: f.st.LeaderSince, MaxAge: n.cfg.TelemetryMaxAge,
		Revoked: n.revoked.peers(),
	}, now, n.cfg.Formation)
	for _, c := range changes {
		if err := f.apply(ctx, c); err != nil {
			n.log.Debug(c.Kind.String(), "peer", c.Peer, "err", err)
			return
		}
		f.record(c)
	}
}

// apply makes one change through the Raft group.
func (f *formation) apply(ctx context.Context, c consensus.Change) error {
	g := f.n.group
	switch c.Kind {
	case consensus.ChangeAddNonvoter:
		return g.AddNonvoter(ctx, c.Peer)
	case consensus.ChangePromote:
		return g.AddVoter(ctx, c.Peer)
	case consensus.ChangeDemote:
		return g.DemoteVoter(ctx, c.Peer)
	case consensus.ChangeRemoveVoter, consensus.ChangeRemoveNonvoter, consensus.ChangeRemoveRevoked, consensus.ChangeRemoveSpare:
		return g.RemoveServer(ctx, c.Peer)
	}
	return fmt.Errorf("formation: unknown change %d", c.Kind)
}

// record counts and logs a change made.
func (f *formation) record(c consensus.Change) {
	n := f.n
	switch c.Kind {
	case consensus.ChangeAddNonvoter:
		n.stats.membersAdded.Add(1)
		n.log.Info("home joined the cluster", "peer", c.Peer, "reason", c.Reason)
	case consensus.ChangePromote:
		n.stats.votersPromoted.Add(1)
		n.log.Info("non-voter promoted", "peer", c.Peer, "reason", c.Reason, "voters", c.Voters)
	case consensus.ChangeRemoveVoter:
		n.stats.votersRemoved.Add(1)
		n.log.Info("silent voter removed", "peer", c.Peer, "silent", c.Silent, "voters", c.Voters)
	case consensus.ChangeDemote:
		n.stats.votersDemoted.Add(1)
		n.log.Info("voter demoted", "peer", c.Peer, "reason", c.Reason, "voters", c.Voters)
	case consensus.ChangeRemoveNonvoter:
		n.stats.membersRemoved.Add(1)
		n.log.Info("silent non-voter removed", "peer", c.Peer, "silent", c.Silent)
	case consensus.ChangeRemoveRevoked:
		n.stats.membersRemoved.Add(1)
		n.log.Info("revoked member removed", "peer", c.Peer, "voters", c.Voters)
	case consensus.ChangeRemoveSpare:
		n.stats.membersRemoved.Add(1)
		n.log.Info("spare non-voter removed: it follows plans on the leader's beacons", "peer", c.Peer)
	}
}
