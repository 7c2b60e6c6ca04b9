package consensus

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// FormationConfig says how a neighborhood with no configured voters
// (Config.Servers empty) forms its Raft cluster, keeps its voters and
// heals a split. The rules are pure functions of this package
// (PlanWithoutState, PlanFounding, Joinable, PlanMerge, PlanUpkeep); the
// caller gathers their inputs from its telemetry and its Group, and
// applies what they return.
//
// Founding: every home reports in its telemetry whether it holds Raft
// state and the name of its cluster. A home with no state that sees no
// home of its neighborhood with any, and the same set of such homes for
// Settle, founds the cluster if its peer ID sorts first among them, every
// other such home names it founder, and there are at least Expect: it
// bootstraps the Expect first as voters; the others, holding no state,
// vote for it and learn the configuration from its log. Every other home
// waits to be added by the leader. Homes that start at the same instant
// all see the same set after a few telemetry periods, so one home
// founds, once.
//
// Merging: if a partition ever lets two clusters form, each leader names
// its cluster (ClusterName: founding time, then leader ID, so the older
// sorts first). Of the clusters a home hears announced, the winner is
// the first in sort order among those announced by at least
// MergeWitnesses homes and by more than half as many homes as announce
// the most announced one (Contender; a home counts its own cluster as at
// least the members of the Raft configuration it holds); a home of
// another cluster wipes its Raft state and is added by the winner's
// leader: every side computes the same winner from the same view.
//
// Announcements are counted per peer: a report counts for the peer that
// signed it (its admitted identity), never for the home it names, so a
// member cannot announce twice. A name is thus something members can
// claim but not outweigh: members who announce a made-up name that sorts
// first (to make the neighborhood wipe itself and join them) win only if
// they are more than half as many as the homes of the real cluster (its
// fresh announcers, or the members of its configuration, whichever is
// more). Two such members move nobody in a neighborhood of four honest
// homes or more, even while the honest homes' reports run late.
//
// Upkeep, on the leader, every Period (as Consul's autopilot does): homes
// heard from that ask for this cluster and are not members are added as
// non-voters until Standbys healthy non-voters are; the others follow
// plans outside the configuration, on the leader's beacons (beacon.go);
// the neighborhood keeps Voters voters (LargeVoters once it has LargeAt
// healthy homes or more, members or not), promoting healthy non-voters
// that have caught up with the log; a voter silent for ReplaceAfter is
// replaced, a non-voter silent for RemoveAfter removed; no voter is ever
// removed or demoted when the voters still heard from would then be
// fewer than a quorum.
type FormationConfig struct {
	// Expect is how many homes without state must be seen before one
	// founds the cluster, and how many voters it founds it with.
	Expect int
	// Settle is how long the set of homes without state must stay the
	// same before the founder bootstraps.
	Settle time.Duration
	// Period is how often a home runs the rules.
	Period time.Duration
	// Voters is how many voters the leader keeps.
	Voters int
	// LargeVoters is how many voters it keeps once LargeAt healthy homes
	// are members.
	LargeVoters int
	// LargeAt is how many healthy members make a neighborhood large; one
	// fewer keeps it large (hysteresis).
	LargeAt int
	// ReplaceAfter is how long a voter may be silent before a non-voter
	// replaces it; also how old a cluster's announcement may be for a
	// home without state to ask for that cluster, and how long a home of
	// no named cluster may go without a leader before it is orphaned.
	ReplaceAfter time.Duration
	// RemoveAfter is how long a non-voter may be silent before it
	// leaves the configuration.
	RemoveAfter time.Duration
	// MergeWitnesses is how many homes must announce a cluster for
	// another home to follow it: to merge into it or to ask to join it.
	MergeWitnesses int
	// Standbys is how many healthy non-voters the leader keeps in the
	// configuration, caught up and ready to replace a voter; every other
	// home follows plans outside it, on the leader's beacons, and is
	// added when a standby is promoted. AllHomes keeps every home a
	// member.
	Standbys int
}

// AllHomes as FormationConfig.Standbys keeps every home heard in the
// configuration, voter or non-voter: the leader heartbeats all of them.
const AllHomes = -1

// DefaultFormationConfig returns the defaults for homes that report
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
		// Three voters survive one failure, five two. Five only from
		// seven homes: in a smaller neighborhood five voters would make
		// nearly every home a voter, leaving none to promote in place of
		// a dead one, and every commit would wait for a third ack. From
		// six homes the set stays five (hysteresis), so a neighborhood
		// at the threshold does not flap between the two sizes.
		Voters: 3, LargeVoters: 5, LargeAt: 7,
		// Five report periods: longer than a failover and a lost report
		// or two, short enough that the neighborhood is back to full
		// strength before a second failure is likely.
		ReplaceAfter: 5 * telemetryPeriod,
		// Half a minute: a home rebooting keeps its place.
		RemoveAfter: 30 * telemetryPeriod,
		// Two: one home announcing a name cannot make the neighborhood
		// reset (a home that lies about its cluster is one home); more
		// are held off by Contender's half rule.
		MergeWitnesses: 2,
		// Two: a leader heartbeats every member ten times a heartbeat
		// timeout, so each member beyond the voters costs it 50 RPCs a
		// second; a plan-following home needs none of them (beacons).
		// Two standbys replace two voters lost at once, as many as five
		// voters survive, with no wait for a newcomer to catch up; a
		// third failure waits a round of upkeep and a catch-up (one
		// snapshot: the FSM holds one plan).
		Standbys: 2,
	}
}

// Validate checks the configuration.
func (c FormationConfig) Validate() error {
	var errs []error
	if c.Expect < 1 || c.Voters < 1 || c.LargeVoters < c.Voters || c.LargeAt < 1 || c.MergeWitnesses < 1 {
		errs = append(errs, fmt.Errorf("expect %d, voters %d/%d at %d homes, merge witnesses %d: want expect, voters, homes and witnesses ≥ 1 and large voters ≥ voters",
			c.Expect, c.Voters, c.LargeVoters, c.LargeAt, c.MergeWitnesses))
	}
	if c.Standbys < AllHomes {
		errs = append(errs, fmt.Errorf("standbys %d: want ≥ 0, or AllHomes", c.Standbys))
	}
	if c.Settle <= 0 || c.Period <= 0 || c.ReplaceAfter <= 0 || c.RemoveAfter < c.ReplaceAfter {
		errs = append(errs, fmt.Errorf("settle %v, period %v, replace after %v, remove after %v: want positive, remove ≥ replace",
			c.Settle, c.Period, c.ReplaceAfter, c.RemoveAfter))
	}
	return errors.Join(errs...)
}

// RosterEntry is what a neighborhood's telemetry says about one home.
type RosterEntry struct {
	// Peer is the home's peer ID string, as Raft names members.
	Peer string
	// Heard is when its newest report arrived, First its first.
	Heard, First time.Time
	// Fresh is whether it was heard within the age limit its leader
	// dispatches with.
	Fresh bool
	// Cluster is the name of the cluster it holds state of ("" for none
	// or not yet named), Joined whether it holds Raft state at all.
	Cluster string
	Joined  bool
	// Applied is the index of the last log entry it applied.
	Applied uint64
	// Founder is the home it would have found the cluster, while it has
	// no state and asks to join none.
	Founder string
	// Joining is the cluster it asks to join, while it has no state.
	Joining string
}

// FormationState is what one home's rules carry from one round to the
// next. The zero value is a home that has run no round.
type FormationState struct {
	// ViewKey is the sorted set of homes without state last seen, and
	// StableSince when it last changed.
	ViewKey     string
	StableSince time.Time
	// LeaderSince is when this home last became leader; members never
	// heard from count as silent from then.
	LeaderSince time.Time
	// LeaderHeard is when this home, holding state, last knew a leader
	// (or first held state): see PlanMerge.
	LeaderHeard time.Time
}

// Leading returns the state after a round in which this home, holding
// state, leads (or not).
func (s FormationState) Leading(isLeader bool, now time.Time) FormationState {
	switch {
	case !isLeader:
		s.LeaderSince = time.Time{}
	case s.LeaderSince.IsZero():
		s.LeaderSince = now
	}
	return s
}

// ClusterName is the name a leader gives its cluster at now: the
// founding time first, so that of two clusters the older sorts first and
// wins the merge, then the leader's ID, so that two names never tie.
func ClusterName(leader string, now time.Time) string {
	return fmt.Sprintf("%013d-%s", now.UnixMilli(), leader)
}

// WithoutState is what a home without Raft state does this round.
type WithoutState struct {
	// Join is the cluster to ask to join; "" when none is heard (then
	// Founding applies).
	Join string
	// Founding is the founding decision when Join is "".
	Founding Founding
}

// PlanWithoutState is a round of a home that holds no Raft state: it
// asks to join the cluster Joinable picks or, when its roster names none,
// the cluster a fresh leader beacon names (beaconed, "" for none: a home
// following plans outside the configuration does not listen to the
// others' reports), or else takes part in founding one (PlanFounding).
func PlanWithoutState(st FormationState, self string, roster []RosterEntry, beaconed string, now time.Time, cfg FormationConfig) (FormationState, WithoutState) {
	st.LeaderSince, st.LeaderHeard = time.Time{}, time.Time{}
	name := Joinable(roster, now, cfg)
	if name == "" {
		name = beaconed
	}
	if name != "" {
		st.ViewKey, st.StableSince = "", time.Time{}
		return st, WithoutState{Join: name}
	}
	st, f := PlanFounding(st, self, roster, now, cfg)
	return st, WithoutState{Founding: f}
}

// Joinable returns the cluster a home without state asks to join: of the
// names homes with state announced within ReplaceAfter, the Contender
// with MergeWitnesses announcers, or, when none has that many (a cluster
// of one voter, just founded), the Contender with one. "" when no
// cluster is heard. Reports up to ReplaceAfter old count so that a
// report or two lost does not send a home that merged back to the
// cluster it left; announcers count per peer and against each other so
// that members lying about their cluster cannot lead the others away
// from the real one.
func Joinable(roster []RosterEntry, now time.Time, cfg FormationConfig) string {
	announced := Announcers(roster, func(e RosterEntry) bool {
		return e.Joined && now.Sub(e.Heard) <= cfg.ReplaceAfter
	})
	if name := Contender(announced, cfg.MergeWitnesses); name != "" {
		return name
	}
	return Contender(announced, 1)
}

// Announcers counts, per cluster name, the distinct peers whose report
// (an entry that counts) names it. Entries naming no cluster are left
// out. Several entries of one peer (a member reporting under several
// home names) count once.
func Announcers(roster []RosterEntry, counts func(RosterEntry) bool) map[string]int {
	peers := map[string]map[string]bool{}
	for _, e := range roster {
		if e.Cluster == "" || !counts(e) {
			continue
		}
		if peers[e.Cluster] == nil {
			peers[e.Cluster] = map[string]bool{}
		}
		peers[e.Cluster][e.Peer] = true
	}
	out := make(map[string]int, len(peers))
	for name, ps := range peers {
		out[name] = len(ps)
	}
	return out
}

// Contender returns the cluster homes follow, of those announced: the
// first in sort order among the names at least minAnnouncers announce
// and more than half as many as announce the most announced name. ""
// when none qualifies.
//
// Why half: the older cluster (the name that sorts first) wins a merge
// as long as it is of a size with the other, so a partition healing
// merges the way ClusterName intends; but a name announced by only a few
// homes beside a large cluster (members lying about their cluster, or a
// stray home) moves no one. Every home computes the same winner from
// the same counts, so the two sides of a split never wait on each other.
func Contender(announced map[string]int, minAnnouncers int) string {
	most := 0
	for _, k := range announced {
		most = max(most, k)
	}
	var winner string
	for name, k := range announced {
		if k >= minAnnouncers && 2*k > most && (winner == "" || name < winner) {
			winner = name
		}
	}
	return winner
}

// Founding is a home's founding decision for one round.
type Founding struct {
	// Founder is the home this one names founder in its telemetry: the
	// first of the homes without state it sees, itself included; "" when
	// a home with state is heard (its leader adds this one).
	Founder string
	// Voters, when set, are the voters this home founds the cluster with
	// now (Group.Bootstrap).
	Voters []string
	// Seen is how many homes without state it sees, itself included.
	Seen int
}

// PlanFounding decides whether this home founds the cluster now: see
// FormationConfig. A home founds when it sorts first among the fresh
// homes without state, every one of them names it founder, there are at
// least Expect, and that set has not changed for Settle.
func PlanFounding(st FormationState, self string, roster []RosterEntry, now time.Time, cfg FormationConfig) (FormationState, Founding) {
	candidates := []string{self}
	agreed := true // every other home without state names this one founder
	for _, e := range roster {
		if !e.Fresh {
			continue
		}
		if e.Joined || e.Cluster != "" {
			// A cluster exists: its leader adds this home.
			st.ViewKey, st.StableSince = "", time.Time{}
			return st, Founding{}
		}
		if e.Peer != self {
			candidates = append(candidates, e.Peer)
			agreed = agreed && e.Founder == self
		}
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	f := Founding{Founder: candidates[0], Seen: len(candidates)}
	if key := strings.Join(candidates, ","); key != st.ViewKey {
		st.ViewKey, st.StableSince = key, now
		return st, f
	}
	if len(candidates) >= cfg.Expect && candidates[0] == self && agreed && now.Sub(st.StableSince) >= cfg.Settle {
		f.Voters = candidates[:cfg.Expect]
	}
	return st, f
}

// MergeInput is what a home holding Raft state knows when it applies
// the merge rule.
type MergeInput struct {
	// Cluster is the name of its cluster, "" while none is named.
	Cluster string
	// Self is its peer ID string.
	Self string
	// LeaderKnown is whether it knows a leader now.
	LeaderKnown bool
	// Servers is the configuration it holds, if ServersKnown.
	Servers      []Server
	ServersKnown bool
	// Roster is its neighborhood's telemetry.
	Roster []RosterEntry
}

// Merge is a merge decision.
type Merge struct {
	// Winner is the cluster to wipe the state for and ask to join; ""
	// to stay.
	Winner string
	// Orphaned is set when the home leaves because its state names no
	// cluster and it heard no leader for NoLeaderFor.
	Orphaned    bool
	NoLeaderFor time.Duration
}

// PlanMerge applies the merge rule: a home leaves its cluster for the
// Contender of the clusters fresh homes announce (its own counted with
// this home among its announcers, and as at least as many as the members
// of the configuration it holds) when that is another cluster.
//
// A home whose state names no cluster counts as announcing none once it
// has heard no leader for ReplaceAfter and is no voter in the
// configuration it holds: it is orphaned (a leader adds back only homes
// that name its cluster or ask for it). Until then it may be a founding
// voter before the first leader named the cluster, or a member about to
// hear its leader; and a voter never wipes on its own, since its log may
// be part of a quorum that committed an entry. A configuration it cannot
// read counts as one it votes in.
func PlanMerge(st FormationState, in MergeInput, now time.Time, cfg FormationConfig) (FormationState, Merge) {
	if in.LeaderKnown || st.LeaderHeard.IsZero() {
		st.LeaderHeard = now
	}
	noLeaderFor := now.Sub(st.LeaderHeard)
	if in.Cluster == "" && (noLeaderFor <= cfg.ReplaceAfter || votes(in)) {
		return st, Merge{}
	}
	roster := in.Roster
	if in.Cluster != "" {
		// This home announces its own cluster, whether or not its own
		// report is in its table.
		roster = append(slices.Clip(roster), RosterEntry{Peer: in.Self, Cluster: in.Cluster, Fresh: true})
	}
	announced := Announcers(roster, func(e RosterEntry) bool { return e.Fresh })
	if in.Cluster != "" && in.ServersKnown {
		// Its own cluster is at least as large as the configuration
		// it holds: its log, which no member outside it can write.
		// Reports late on a loaded machine (not fresh) thus never
		// leave a few fresh liars the larger side.
		announced[in.Cluster] = max(announced[in.Cluster], len(in.Servers))
	}
	winner := Contender(announced, cfg.MergeWitnesses)
	if winner == "" || winner == in.Cluster {
		return st, Merge{}
	}
	return st, Merge{Winner: winner, Orphaned: in.Cluster == "", NoLeaderFor: noLeaderFor}
}

// votes reports whether in.Self is a voter in the configuration it
// holds, or that configuration is unknown.
func votes(in MergeInput) bool {
	if !in.ServersKnown {
		return true // unknown: do not wipe
	}
	return slices.ContainsFunc(in.Servers, func(s Server) bool { return s.ID == in.Self && s.Voter })
}
