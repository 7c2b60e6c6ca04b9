package consensus

import (
	"slices"
	"strings"
	"time"
)

// catchUpLag is how many log entries a non-voter may lag the leader and
// still be promoted: a few plans in flight, not a home still replaying.
const catchUpLag = 16

// ChangeKind is a kind of configuration change upkeep asks for.
type ChangeKind int

// The changes upkeep asks for, each applied with one Group call.
const (
	// ChangeAddNonvoter adds a home heard from as a non-voter
	// (Group.AddNonvoter).
	ChangeAddNonvoter ChangeKind = iota + 1
	// ChangePromote makes a non-voter a voter (Group.AddVoter).
	ChangePromote
	// ChangeRemoveVoter removes a silent voter (Group.RemoveServer).
	ChangeRemoveVoter
	// ChangeDemote makes a voter a non-voter (Group.DemoteVoter).
	ChangeDemote
	// ChangeRemoveNonvoter removes a silent non-voter
	// (Group.RemoveServer).
	ChangeRemoveNonvoter
	// ChangeRemoveRevoked removes a revoked member, voter or not
	// (Group.RemoveServer).
	ChangeRemoveRevoked
	// ChangeRemoveSpare removes a healthy non-voter beyond the Standbys
	// the neighborhood keeps (Group.RemoveServer): it follows plans
	// outside the configuration, on the leader's beacons.
	ChangeRemoveSpare
)

// String names the change, for logs.
func (k ChangeKind) String() string {
	switch k {
	case ChangeAddNonvoter:
		return "add non-voter"
	case ChangePromote:
		return "promote"
	case ChangeRemoveVoter:
		return "remove silent voter"
	case ChangeDemote:
		return "demote"
	case ChangeRemoveNonvoter:
		return "remove silent non-voter"
	case ChangeRemoveRevoked:
		return "remove revoked member"
	case ChangeRemoveSpare:
		return "remove spare non-voter"
	}
	return "unknown change"
}

// Suffrage reports whether the change adds or takes a vote.
func (k ChangeKind) Suffrage() bool {
	return k == ChangePromote || k == ChangeRemoveVoter || k == ChangeDemote || k == ChangeRemoveRevoked
}

// Change is one configuration change of a round of upkeep.
type Change struct {
	Kind ChangeKind
	// Peer is the member's peer ID string.
	Peer string
	// Reason says why, for the log.
	Reason string
	// Silent is how long the peer has not been heard from (removals).
	Silent time.Duration
	// Voters is how many voters the configuration has after a change of
	// suffrage.
	Voters int
}

// UpkeepInput is what the leader knows in one round of upkeep.
type UpkeepInput struct {
	// Servers is the configuration the leader holds, in its order.
	Servers []Server
	// Roster is the neighborhood's telemetry, in any order.
	Roster []RosterEntry
	// Self is the leader's peer ID string; Cluster its cluster's name.
	Self, Cluster string
	// LeaderApplied is the leader's applied index (Group.AppliedIndex).
	LeaderApplied uint64
	// LeaderSince is when this home became leader
	// (FormationState.LeaderSince): a member never heard from counts as
	// silent from then.
	LeaderSince time.Time
	// MaxAge is how long after its last report a member still counts
	// as healthy: the age limit the leader dispatches with.
	MaxAge time.Duration
	// Revoked are the peers whose revocation the leader applied and
	// checked against the neighborhood's key.
	Revoked []string
}

// PlanUpkeep returns the configuration changes for one round of upkeep
// on the leader, in the order they must be made; the caller makes them
// in order and stops at the first that fails (the next round sees what
// was done). First homes heard from that ask for this cluster, or hold
// its state but left the configuration, are added as non-voters, in peer
// order, until the configuration holds Standbys healthy non-voters;
// then comes at most one change of suffrage: promote, replace a silent
// voter, demote; only when there is none, silent non-voters are removed,
// and then healthy ones beyond Standbys (the last in the configuration
// first). A home left out follows plans on the leader's beacons
// (BeaconTargets) and counts towards the neighborhood's size.
// While a cluster whose name sorts before this one is heard, it asks for
// nothing: this cluster is about to merge into that one, and a home
// added now would only be wiped again.
//
// Revoked members come before all that: every revoked member in the
// configuration is removed, voter or not, whatever the quorum (every
// other home refuses its Raft streams already, so it counts for none),
// and a revoked home is never added or promoted. A leader that is itself
// revoked asks for nothing: the others refuse its streams and elect
// another, which removes it.
func PlanUpkeep(in UpkeepInput, now time.Time, cfg FormationConfig) []Change {
	if slices.Contains(in.Revoked, in.Self) {
		return nil
	}
	if rm := removeRevoked(in); len(rm) > 0 {
		return rm
	}
	in.Roster = slices.DeleteFunc(slices.Clone(in.Roster), func(e RosterEntry) bool { return slices.Contains(in.Revoked, e.Peer) })
	if sortingFirstHeard(in.Roster, in.Cluster) {
		return nil
	}
	u := newUpkeep(in, now, cfg)
	changes, servers := u.admissions()
	if c, ok := u.suffrage(servers); ok {
		return append(changes, c)
	}
	silent := u.silentNonvoters(servers)
	return append(append(changes, silent...), u.spares(servers, silent)...)
}

// removeRevoked removes every revoked member of the configuration, in
// its order: a round makes those removals and nothing else, so that the
// next round counts voters without them.
func removeRevoked(in UpkeepInput) []Change {
	var changes []Change
	voters := 0
	for _, s := range in.Servers {
		if s.Voter {
			voters++
		}
	}
	for _, s := range in.Servers {
		if !slices.Contains(in.Revoked, s.ID) {
			continue
		}
		if s.Voter {
			voters--
		}
		changes = append(changes, Change{Kind: ChangeRemoveRevoked, Peer: s.ID, Reason: "revoked by the neighborhood's key", Voters: voters})
	}
	return changes
}

// sortingFirstHeard reports whether a fresh report names a cluster that
// sorts before ours.
func sortingFirstHeard(roster []RosterEntry, ours string) bool {
	return slices.ContainsFunc(roster, func(e RosterEntry) bool {
		return e.Fresh && e.Cluster != "" && e.Cluster < ours
	})
}

// upkeep is one round's inputs, indexed.
type upkeep struct {
	in     UpkeepInput
	now    time.Time
	cfg    FormationConfig
	byPeer map[string]RosterEntry
	// outside counts the fresh homes asking for this cluster that
	// admissions left out of the configuration.
	outside int
}

func newUpkeep(in UpkeepInput, now time.Time, cfg FormationConfig) *upkeep {
	u := &upkeep{in: in, now: now, cfg: cfg, byPeer: make(map[string]RosterEntry, len(in.Roster))}
	for _, e := range in.Roster {
		u.byPeer[e.Peer] = e
	}
	return u
}

// silence is how long id has not been heard from: never the leader
// itself, and never longer than this home has led.
func (u *upkeep) silence(id string) time.Duration {
	if id == u.in.Self {
		return 0
	}
	heard := u.in.LeaderSince
	if e, ok := u.byPeer[id]; ok && e.Heard.After(heard) {
		heard = e.Heard
	}
	return u.now.Sub(heard)
}

func (u *upkeep) healthy(id string) bool { return u.silence(id) <= u.in.MaxAge }

// admissions adds, in peer order, fresh homes that are no members and
// ask for this cluster (asks), while the configuration holds fewer than
// Standbys healthy non-voters. No other home joins: a home without state
// asks for the cluster Joinable picks, and one holding state of no named
// cluster wipes it once orphaned (PlanMerge), so that no home is ever in
// two clusters' configurations. It returns the changes and the
// configuration after them, and counts the homes left out.
func (u *upkeep) admissions() ([]Change, []Server) {
	servers := slices.Clone(u.in.Servers)
	member := make(map[string]bool, len(servers))
	standbys := 0
	for _, s := range servers {
		member[s.ID] = true
		if !s.Voter && u.healthy(s.ID) {
			standbys++
		}
	}
	roster := slices.Clone(u.in.Roster)
	slices.SortFunc(roster, func(a, b RosterEntry) int { return strings.Compare(a.Peer, b.Peer) })
	var changes []Change
	for _, e := range roster {
		ok, reason := asks(e, u.in.Cluster)
		if !e.Fresh || member[e.Peer] || !ok {
			continue
		}
		if u.cfg.Standbys >= 0 && standbys >= u.cfg.Standbys {
			u.outside++
			continue
		}
		changes = append(changes, Change{Kind: ChangeAddNonvoter, Peer: e.Peer, Reason: reason})
		servers = append(servers, Server{ID: e.Peer})
		member[e.Peer] = true
		standbys++
	}
	return changes, servers
}

// asks reports whether a home's report asks for cluster, and why: by
// name while it has no state, by holding the cluster's state otherwise.
func asks(e RosterEntry, cluster string) (bool, string) {
	if e.Joined {
		return e.Cluster == cluster, "holds this cluster's state"
	}
	return e.Joining == cluster, "asks to join this cluster"
}

// BeaconTargets returns the homes the leader of cluster beacons (see
// Group.Beacon): every home of the roster heard within the last within
// that asks for the cluster, is not in servers and is not revoked, in
// peer order. Within is longer than the age that makes a report fresh
// (RemoveAfter, as for members): a home outside the configuration
// reaches the leader's telemetry only through the listeners it is
// connected to, and after a failover its one link to them may have been
// the dead leader; the new leader's beacon connects them again.
func BeaconTargets(servers []Server, roster []RosterEntry, cluster string, revoked []string, now time.Time, within time.Duration) []string {
	var out []string
	for _, e := range roster {
		ok, _ := asks(e, cluster)
		if !ok || now.Sub(e.Heard) > within || slices.Contains(revoked, e.Peer) ||
			slices.ContainsFunc(servers, func(s Server) bool { return s.ID == e.Peer }) {
			continue
		}
		out = append(out, e.Peer)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// suffrage returns the round's one change of suffrage, if any: one a
// round, since raft serializes configuration changes anyway and the next
// round sees this one's result.
func (u *upkeep) suffrage(servers []Server) (Change, bool) {
	var voters, nonVoters []Server
	healthyHomes, healthyVoters := 0, 0
	for _, s := range servers {
		if u.healthy(s.ID) {
			healthyHomes++
		}
		if s.Voter {
			voters = append(voters, s)
			if u.healthy(s.ID) {
				healthyVoters++
			}
		} else {
			nonVoters = append(nonVoters, s)
		}
	}
	want := u.target(len(voters), healthyHomes+u.outside)
	dead := u.silentVoter(voters)
	if candidate, ok := u.promotable(nonVoters); ok && (len(voters) < want || (dead != "" && healthyVoters < want)) {
		reason := "fewer voters than the target"
		if len(voters) >= want {
			reason = "in place of a silent voter"
		}
		return Change{Kind: ChangePromote, Peer: candidate, Reason: reason, Voters: len(voters) + 1}, true
	}
	if dead != "" {
		// The voters heard from, after the silent voter leaves, must
		// still be a quorum of the smaller set.
		heardAfter := healthyVoters
		if u.healthy(dead) {
			heardAfter--
		}
		if heardAfter >= quorum(len(voters)-1) {
			return Change{Kind: ChangeRemoveVoter, Peer: dead, Reason: "silent longer than ReplaceAfter",
				Silent: u.silence(dead), Voters: len(voters) - 1}, true
		}
	}
	if healthyVoters > want && healthyVoters-1 >= quorum(len(voters)-1) {
		// Demote the healthy voter last in the configuration, never this
		// leader.
		for i := len(voters) - 1; i >= 0; i-- {
			if id := voters[i].ID; id != u.in.Self && u.healthy(id) {
				return Change{Kind: ChangeDemote, Peer: id, Reason: "more healthy voters than the target", Voters: len(voters) - 1}, true
			}
		}
	}
	return Change{}, false
}

// quorum is a majority of n voters.
func quorum(n int) int { return n/2 + 1 }

// target is how many voters the neighborhood keeps: Voters, or
// LargeVoters from LargeAt healthy homes; a neighborhood one home below
// the threshold keeps its larger set (hysteresis).
func (u *upkeep) target(voters, healthyHomes int) int {
	if healthyHomes >= u.cfg.LargeAt || (voters > u.cfg.Voters && healthyHomes >= u.cfg.LargeAt-1) {
		return u.cfg.LargeVoters
	}
	return u.cfg.Voters
}

// silentVoter returns the first voter in the configuration, other than
// this leader, silent for longer than ReplaceAfter; "" for none.
func (u *upkeep) silentVoter(voters []Server) string {
	for _, v := range voters {
		if v.ID != u.in.Self && u.silence(v.ID) > u.cfg.ReplaceAfter {
			return v.ID
		}
	}
	return ""
}

// promotable returns the healthy non-voter that has caught up and was
// heard first (the steadiest home), ties by peer ID.
func (u *upkeep) promotable(nonVoters []Server) (string, bool) {
	best := ""
	var bestFirst time.Time
	for _, s := range nonVoters {
		e, ok := u.byPeer[s.ID]
		if !ok || !u.healthy(s.ID) || e.Applied+catchUpLag < u.in.LeaderApplied {
			continue
		}
		if best == "" || e.First.Before(bestFirst) || (e.First.Equal(bestFirst) && s.ID < best) {
			best, bestFirst = s.ID, e.First
		}
	}
	return best, best != ""
}

// spares removes the healthy non-voters beyond Standbys, the last in
// the configuration first, leaving aside those silent removes.
func (u *upkeep) spares(servers []Server, silent []Change) []Change {
	if u.cfg.Standbys < 0 {
		return nil
	}
	var healthy []string
	for _, s := range servers {
		gone := slices.ContainsFunc(silent, func(c Change) bool { return c.Peer == s.ID })
		if !s.Voter && !gone && u.healthy(s.ID) {
			healthy = append(healthy, s.ID)
		}
	}
	var changes []Change
	for i := len(healthy) - 1; i >= u.cfg.Standbys; i-- {
		changes = append(changes, Change{Kind: ChangeRemoveSpare, Peer: healthy[i], Reason: "more standbys than the neighborhood keeps"})
	}
	return changes
}

// silentNonvoters removes every non-voter silent for longer than
// RemoveAfter: a home rebooting keeps its place, one gone for good
// leaves.
func (u *upkeep) silentNonvoters(servers []Server) []Change {
	var changes []Change
	for _, s := range servers {
		if !s.Voter && u.silence(s.ID) > u.cfg.RemoveAfter {
			changes = append(changes, Change{Kind: ChangeRemoveNonvoter, Peer: s.ID, Reason: "silent longer than RemoveAfter", Silent: u.silence(s.ID)})
		}
	}
	return changes
}
