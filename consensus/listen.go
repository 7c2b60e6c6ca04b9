package consensus

import "time"

// leaderlessListen is how long a home without a known leader goes before
// it listens to its neighborhood's reports although it does not vote:
// the home is then likely in a cluster that lost its voters to a merge,
// and the merge rule needs the others' reports.
const leaderlessListen = 10 * time.Second

// ListenState is what the listen rule carries from one call to the next.
// The zero value is a home that has just started.
type ListenState struct {
	// LeaderSeen is when this home last knew a leader, or started.
	LeaderSeen time.Time
}

// ListenInput is what a home knows when it decides whether to listen to
// its neighborhood's reports.
type ListenInput struct {
	// HasState is whether it holds Raft state (Group.HasState).
	HasState bool
	// Voter is whether it votes in the configuration it holds.
	Voter bool
	// LeaderKnown is whether it knows a leader now.
	LeaderKnown bool
	// Members are the IDs in the configuration it holds; nil if unknown.
	Members map[string]bool
	// Neighbors are the peers it is connected to that are admitted to
	// its neighborhood.
	Neighbors []string
	// Beaconed is whether a fresh leader beacon names its leader
	// (Group.Beaconed): the leader counts it out of the configuration.
	Beaconed bool
}

// Listen reports whether a home needs its neighborhood's reports: while
// it votes (it may lead, and a leader dispatches and keeps the voters
// from them), after leaderlessListen without a known leader, and, unless
// the leader beacons it (it follows plans outside the configuration and
// is known to the leader), while it has no Raft state (to found or be
// founded) or is connected to a home of its neighborhood that is not in
// its Raft configuration (a home not yet added, or of a split cluster:
// gossip relays reports only through those who listen, and this home may
// be that home's one path to the leader; standbys relay the
// plan-following homes' reports so). Otherwise it does not: every report
// costs every listener a delivery and a signature check, and in a
// neighborhood of 25 homes, everyone listening cost 5 to 8 times the CPU
// of the voters alone.
func Listen(st ListenState, in ListenInput, now time.Time) (ListenState, bool) {
	if in.LeaderKnown || st.LeaderSeen.IsZero() {
		st.LeaderSeen = now
	}
	return st, in.Voter || now.Sub(st.LeaderSeen) > leaderlessListen || (!in.Beaconed && (!in.HasState || outsiders(in)))
}

// outsiders reports whether a neighbor is not in the configuration; no,
// when the configuration is unknown.
func outsiders(in ListenInput) bool {
	if in.Members == nil {
		return false
	}
	for _, p := range in.Neighbors {
		if !in.Members[p] {
			return true
		}
	}
	return false
}
