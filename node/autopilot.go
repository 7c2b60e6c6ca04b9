package node

import (
	"context"
	"time"

	"github.com/gridmesh/gridmesh/consensus"
)

// catchUpLag is how many log entries a non-voter may lag the leader and
// still be promoted: a few plans in flight, not a home still replaying.
const catchUpLag = 16

// rosterEntry is what the neighborhood's telemetry says about one home.
type rosterEntry struct {
	peer    string    // the peer ID's string form, as Raft names members
	heard   time.Time // newest report received
	first   time.Time // first report received
	fresh   bool      // heard within the telemetry age limit
	cluster string
	joined  bool
	applied uint64
	founder string
	joining string
}

// upkeep makes this leader's configuration changes for one round: every
// home heard from joins as a non-voter; then at most one change of
// suffrage: promote, replace, demote; then silent non-voters leave.
func (f *formation) upkeep(ctx context.Context, now time.Time, roster []rosterEntry) {
	n, cfg := f.n, f.n.cfg.Formation
	servers, _, err := n.group.Members()
	if err != nil {
		return
	}
	self := n.id.String()
	ours := n.group.ClusterID()
	byPeer := make(map[string]rosterEntry, len(roster))
	for _, e := range roster {
		byPeer[e.peer] = e
	}
	member := make(map[string]bool, len(servers))
	for _, s := range servers {
		member[s.ID] = true
	}

	// Homes heard from that ask to join this cluster, or hold its state
	// but left the configuration, join; no other home does: a home
	// without state asks for the cluster whose name sorts first (see
	// formation.joinable), and one holding state of no named cluster
	// wipes it once orphaned (formation.merge), so that no home is ever
	// in two clusters' configurations. Nor does anyone join while a
	// cluster whose name sorts first is heard: this one is about to
	// merge into it (formation.go), and a home added now would only be
	// wiped again.
	for _, e := range roster {
		if e.fresh && e.cluster != "" && e.cluster < ours {
			return
		}
	}
	for _, e := range roster {
		id := e.peer
		asks := e.joining == ours
		if e.joined {
			asks = e.cluster == ours
		}
		if !e.fresh || member[id] || !asks {
			continue
		}
		if err := n.group.AddNonvoter(ctx, id); err != nil {
			n.log.Debug("add non-voter", "peer", id, "err", err)
			return
		}
		n.stats.membersAdded.Add(1)
		n.log.Info("home joined the cluster", "peer", id, "had_state", e.joined, "its_cluster", e.cluster, "asked_for", e.joining)
		servers = append(servers, consensus.Server{ID: id})
		member[id] = true
	}

	silence := func(id string) time.Duration {
		if id == self {
			return 0
		}
		heard := f.leaderSince
		if e, ok := byPeer[id]; ok && e.heard.After(heard) {
			heard = e.heard
		}
		return now.Sub(heard)
	}
	healthy := func(id string) bool { return silence(id) <= n.cfg.TelemetryMaxAge }
	var voters, nonVoters []consensus.Server
	healthyHomes, healthyVoters := 0, 0
	for _, s := range servers {
		if healthy(s.ID) {
			healthyHomes++
		}
		if s.Voter {
			voters = append(voters, s)
			if healthy(s.ID) {
				healthyVoters++
			}
		} else {
			nonVoters = append(nonVoters, s)
		}
	}
	want := cfg.Voters
	// Hysteresis: a neighborhood at the threshold keeps its larger set.
	if healthyHomes >= cfg.LargeAt || (len(voters) > cfg.Voters && healthyHomes >= cfg.LargeAt-1) {
		want = cfg.LargeVoters
	}
	quorumAfterRemoval := func() bool {
		// The voters heard from, after one silent voter leaves, must
		// still be a quorum of the smaller set.
		return healthyVoters >= (len(voters)-1)/2+1
	}

	// One suffrage change a round; configuration changes are serialized
	// by raft anyway, and the next round sees this one's result.
	var dead string
	for _, v := range voters {
		if v.ID != self && silence(v.ID) > cfg.ReplaceAfter {
			dead = v.ID
			break
		}
	}
	leaderApplied := n.group.AppliedIndex()
	if candidate, ok := f.promotable(nonVoters, byPeer, leaderApplied, healthy); ok && (len(voters) < want || (dead != "" && healthyVoters < want)) {
		if err := n.group.AddVoter(ctx, candidate); err != nil {
			n.log.Debug("promote", "peer", candidate, "err", err)
			return
		}
		n.stats.votersPromoted.Add(1)
		n.log.Info("non-voter promoted", "peer", candidate, "voters", len(voters)+1)
		return
	}
	if dead != "" && quorumAfterRemoval() {
		if err := n.group.RemoveServer(ctx, dead); err != nil {
			n.log.Debug("remove dead voter", "peer", dead, "err", err)
			return
		}
		n.stats.votersRemoved.Add(1)
		n.log.Info("silent voter removed", "peer", dead, "silent", silence(dead))
		return
	}
	if healthyVoters > want && (healthyVoters-1) >= (len(voters)-1)/2+1 {
		// Demote the healthy voter that sorts last, never this leader.
		for i := len(voters) - 1; i >= 0; i-- {
			if id := voters[i].ID; id != self && healthy(id) {
				if err := n.group.DemoteVoter(ctx, id); err != nil {
					n.log.Debug("demote", "peer", id, "err", err)
					return
				}
				n.stats.votersDemoted.Add(1)
				n.log.Info("voter demoted", "peer", id)
				return
			}
		}
	}
	for _, s := range nonVoters {
		if silence(s.ID) > cfg.RemoveAfter {
			if err := n.group.RemoveServer(ctx, s.ID); err != nil {
				n.log.Debug("remove silent non-voter", "peer", s.ID, "err", err)
				return
			}
			n.stats.membersRemoved.Add(1)
			n.log.Info("silent non-voter removed", "peer", s.ID)
		}
	}
}

// promotable returns the healthy non-voter that has caught up and was
// heard first (the steadiest home), ties by peer ID.
func (f *formation) promotable(nonVoters []consensus.Server, byPeer map[string]rosterEntry, leaderApplied uint64, healthy func(string) bool) (string, bool) {
	best := ""
	var bestFirst time.Time
	for _, s := range nonVoters {
		e, ok := byPeer[s.ID]
		if !ok || !healthy(s.ID) || e.applied+catchUpLag < leaderApplied {
			continue
		}
		if best == "" || e.first.Before(bestFirst) || (e.first.Equal(bestFirst) && s.ID < best) {
			best, bestFirst = s.ID, e.first
		}
	}
	return best, best != ""
}
