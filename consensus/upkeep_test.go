package consensus

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Upkeep fixtures: the leader "p0" of cluster "0001-b" has applied
// index 100 at upkeepNow, has led for an hour, and counts a member
// healthy for 3 s after its last report (defaults for 1 s reports:
// ReplaceAfter 5 s, RemoveAfter 30 s, 3 voters, 5 from 7 homes).
const (
	ours    = "0001-b"
	self    = "p0"
	applied = 100
)

var (
	upkeepNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	maxAge    = 3 * time.Second
)

// home is a member or candidate heard ago, holding this cluster's state,
// caught up, first heard an hour before upkeepNow.
func home(peer string, ago time.Duration) RosterEntry {
	return RosterEntry{
		Peer: peer, Heard: upkeepNow.Add(-ago), First: upkeepNow.Add(-time.Hour), Fresh: ago <= maxAge,
		Cluster: ours, Joined: true, Applied: applied,
	}
}

// asking is a home without state asking for cluster, heard just now.
func asking(peer, cluster string) RosterEntry {
	e := home(peer, 0)
	e.Joined, e.Cluster, e.Joining, e.Applied = false, "", cluster, 0
	return e
}

func firstAt(e RosterEntry, d time.Duration) RosterEntry {
	e.First = upkeepNow.Add(-time.Hour + d)
	return e
}
func appliedAt(e RosterEntry, i uint64) RosterEntry { e.Applied = i; return e }

func voters(ids ...string) []Server {
	out := make([]Server, len(ids))
	for i, id := range ids {
		out[i] = Server{ID: id, Voter: true}
	}
	return out
}

func nonVoters(ids ...string) []Server {
	out := make([]Server, len(ids))
	for i, id := range ids {
		out[i] = Server{ID: id}
	}
	return out
}

// healthyRoster reports every id heard just now.
func healthyRoster(ids ...string) []RosterEntry {
	out := make([]RosterEntry, len(ids))
	for i, id := range ids {
		out[i] = home(id, 0)
	}
	return out
}

func upkeepInput(servers []Server, roster []RosterEntry) UpkeepInput {
	return UpkeepInput{
		Servers: servers, Roster: roster, Self: self, Cluster: ours,
		LeaderApplied: applied, LeaderSince: upkeepNow.Add(-time.Hour), MaxAge: maxAge,
	}
}

// brief is a change as "kind peer".
func brief(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s", c.Kind, c.Peer)
	}
	return out
}

// TestPlanUpkeep: the rules with every home a member (AllHomes), as
// small neighborhoods have them (at most Voters+Standbys homes);
// TestPlanUpkeepStandbys: what Standbys changes.
func TestPlanUpkeep(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second)
	cfg.Standbys = AllHomes
	dead := 10 * time.Second // past ReplaceAfter, short of RemoveAfter
	gone := 31 * time.Second // past RemoveAfter
	three := voters(self, "p1", "p2")
	tests := []struct {
		name    string
		servers []Server
		roster  []RosterEntry
		in      func(*UpkeepInput)
		cfg     func(*FormationConfig)
		want    []string
	}{
		{name: "steady: three healthy voters, nothing to do",
			servers: three, roster: healthyRoster("p1", "p2")},

		// Revocations.
		{name: "removes a revoked voter even when the rest are no quorum of the smaller set",
			servers: three, roster: []RosterEntry{home("p1", 0), home("p2", dead)},
			in:   func(in *UpkeepInput) { in.Revoked = []string{"p1"} },
			want: []string{"remove revoked member p1"}},
		{name: "removes every revoked member, voters and non-voters, in configuration order and nothing else that round",
			servers: append(three, nonVoters("p4", "p5")...), roster: append(healthyRoster("p1", "p2", "p4", "p5"), asking("p6", ours)),
			in:   func(in *UpkeepInput) { in.Revoked = []string{"p5", "p2", "p9"} },
			want: []string{"remove revoked member p2", "remove revoked member p5"}},
		{name: "never adds a revoked home asking to join or holding this cluster's state",
			servers: three, roster: append(healthyRoster("p1", "p2", "p3"), asking("p4", ours)),
			in: func(in *UpkeepInput) { in.Revoked = []string{"p3", "p4"} }},
		{name: "a revoked non-voter, the steadiest, is removed before any promotion",
			servers: append(voters(self, "p1"), nonVoters("p2", "p3")...), roster: []RosterEntry{home("p1", 0), firstAt(home("p2", 0), -time.Minute), home("p3", 0)},
			in:   func(in *UpkeepInput) { in.Revoked = []string{"p2"} },
			want: []string{"remove revoked member p2"}},
		{name: "a revoked leader asks for nothing",
			servers: append(three, nonVoters("p3")...), roster: healthyRoster("p1", "p2", "p3"),
			in: func(in *UpkeepInput) { in.Revoked = []string{self, "p3"} }},
		{name: "a revoked home announcing a cluster that sorts first holds nothing back",
			servers: append(voters(self, "p1"), nonVoters("p2")...),
			roster: func() []RosterEntry {
				liar := home("p7", 0)
				liar.Cluster = "0000-a"
				return append(healthyRoster("p1", "p2"), liar)
			}(),
			in:   func(in *UpkeepInput) { in.Revoked = []string{"p7"} },
			want: []string{"promote p2"}},

		// Admissions.
		{name: "adds a home asking for this cluster",
			servers: three, roster: append(healthyRoster("p1", "p2"), asking("p3", ours)),
			want: []string{"add non-voter p3"}},
		{name: "adds a home holding this cluster's state that left the configuration",
			servers: three, roster: healthyRoster("p1", "p2", "p3"),
			want: []string{"add non-voter p3"}},
		{name: "adds in peer order whatever the roster's order",
			servers: three, roster: append(healthyRoster("p1", "p2"), asking("p5", ours), asking("p4", ours)),
			want: []string{"add non-voter p4", "add non-voter p5"}},
		{name: "adds no home asking for another cluster, holding another's state, stale, or a member",
			servers: append(three, nonVoters("p6")...),
			roster: func() []RosterEntry {
				other := home("p4", 0)
				other.Cluster = "0009-z"
				stale := asking("p5", ours)
				stale.Fresh = false
				return append(healthyRoster("p1", "p2"), asking("p3", "0009-z"), other, stale, asking("p6", ours))
			}(),
		},
		{name: "a home holding state is judged by its cluster, not by what it asks",
			servers: three,
			roster: func() []RosterEntry {
				e := home("p3", 0)
				e.Cluster, e.Joining = "0009-z", ours
				return append(healthyRoster("p1", "p2"), e)
			}(),
		},
		{name: "no change at all while a cluster that sorts first is heard",
			servers: voters(self, "p1", "p2", "p3", "p4"),
			roster: func() []RosterEntry {
				first := home("p9", 0)
				first.Cluster = "0000-a"
				return []RosterEntry{home("p1", 0), home("p2", 0), home("p3", dead), home("p4", dead), asking("p5", ours), first}
			}(),
		},
		{name: "a stale report of a cluster that sorts first holds nothing back",
			servers: three,
			roster: func() []RosterEntry {
				first := home("p9", 10*time.Second)
				first.Cluster = "0000-a"
				return append(healthyRoster("p1", "p2"), asking("p5", ours), first)
			}(),
			want: []string{"add non-voter p5"}},

		// Promotion.
		{name: "below target: promotes the non-voter heard first",
			servers: append(voters(self, "p1"), nonVoters("p2", "p3")...),
			roster:  []RosterEntry{home("p1", 0), firstAt(home("p2", 0), 2*time.Second), firstAt(home("p3", 0), time.Second)},
			want:    []string{"promote p3"}},
		{name: "ties on first report go to the lower peer ID",
			servers: append(voters(self, "p1"), nonVoters("p3", "p2")...),
			roster:  healthyRoster("p1", "p2", "p3"),
			want:    []string{"promote p2"}},
		{name: "a non-voter lagging more than catchUpLag is not promoted",
			servers: append(voters(self, "p1"), nonVoters("p2")...),
			roster:  []RosterEntry{home("p1", 0), appliedAt(home("p2", 0), applied-catchUpLag-1)},
		},
		{name: "a non-voter lagging exactly catchUpLag is promoted",
			servers: append(voters(self, "p1"), nonVoters("p2")...),
			roster:  []RosterEntry{home("p1", 0), appliedAt(home("p2", 0), applied-catchUpLag)},
			want:    []string{"promote p2"}},
		{name: "an unhealthy non-voter is not promoted",
			servers: append(voters(self, "p1"), nonVoters("p2")...),
			roster:  []RosterEntry{home("p1", 0), home("p2", 4*time.Second)},
		},
		{name: "a non-voter absent from the roster is not promoted",
			servers: append(voters(self, "p1"), nonVoters("p2")...),
			roster:  healthyRoster("p1"),
			in:      func(in *UpkeepInput) { in.LeaderSince = upkeepNow },
		},
		{name: "a home added this round may be promoted in the same round",
			servers: voters(self, "p1"), roster: []RosterEntry{home("p1", 0), appliedAt(asking("p2", ours), applied)},
			want: []string{"add non-voter p2", "promote p2"}},

		// Replacing a silent voter.
		{name: "a silent voter is replaced by a promotion first",
			servers: append(three, nonVoters("p3")...), roster: []RosterEntry{home("p1", 0), home("p2", dead), home("p3", 0)},
			want: []string{"promote p3"}},
		{name: "then removed, the voters heard being a quorum without it",
			servers: voters(self, "p1", "p2", "p3"), roster: []RosterEntry{home("p1", 0), home("p2", dead), home("p3", 0)},
			want: []string{"remove silent voter p2"}},
		{name: "with no one to promote, a silent voter is removed if a quorum is still heard",
			servers: three, roster: []RosterEntry{home("p1", 0), home("p2", dead)},
			want: []string{"remove silent voter p2"}},
		{name: "quorum guard: of three voters two silent, none is removed",
			servers: three, roster: []RosterEntry{home("p1", dead), home("p2", dead)},
		},
		{name: "quorum guard: of five voters two silent, the first in the configuration goes",
			servers: voters(self, "p1", "p2", "p3", "p4"), roster: []RosterEntry{home("p1", 0), home("p2", 0), home("p3", dead), home("p4", dead)},
			want: []string{"remove silent voter p3"}},
		{name: "quorum guard: of five voters three silent, none is removed",
			servers: voters(self, "p1", "p2", "p3", "p4"), roster: []RosterEntry{home("p1", 0), home("p2", dead), home("p3", dead), home("p4", dead)},
		},
		{name: "a voter silent within ReplaceAfter stays",
			servers: three, roster: []RosterEntry{home("p1", 0), home("p2", 5*time.Second)},
		},
		{name: "a member never heard counts as silent only since this home leads",
			servers: three, roster: healthyRoster("p1"),
			in: func(in *UpkeepInput) { in.LeaderSince = upkeepNow.Add(-2 * time.Second) },
		},
		{name: "a member never heard for longer than ReplaceAfter of leading is silent",
			servers: three, roster: healthyRoster("p1"),
			in:   func(in *UpkeepInput) { in.LeaderSince = upkeepNow.Add(-dead) },
			want: []string{"remove silent voter p2"}},

		// Demotion.
		{name: "above target: demotes the last healthy voter in the configuration",
			servers: voters(self, "p1", "p3", "p2"), roster: healthyRoster("p1", "p2", "p3"),
			want: []string{"demote p2"}},
		{name: "demotes no unhealthy voter",
			servers: voters(self, "p1", "p2", "p3", "p4"), roster: []RosterEntry{home("p1", 0), home("p2", 0), home("p3", 0), home("p4", 4*time.Second)},
			want: []string{"demote p3"}},
		{name: "the leader never demotes itself, though it sorts last",
			servers: voters("p1", "p2", "p3", self), roster: healthyRoster("p1", "p2", "p3"),
			want: []string{"demote p3"}},
		{name: "above a target of one, the leader demotes the other voter, not itself",
			servers: voters("p1", self), roster: healthyRoster("p1"),
			cfg:  func(c *FormationConfig) { c.Voters, c.LargeVoters = 1, 1 },
			want: []string{"demote p1"}},

		// Hysteresis between 3 and 5 voters.
		{name: "seven healthy homes: five voters wanted",
			servers: append(three, nonVoters("p3", "p4", "p5", "p6")...), roster: healthyRoster("p1", "p2", "p3", "p4", "p5", "p6"),
			want: []string{"promote p3"}},
		{name: "six healthy homes and three voters: three stay",
			servers: append(three, nonVoters("p3", "p4", "p5")...), roster: healthyRoster("p1", "p2", "p3", "p4", "p5"),
		},
		{name: "seven members of which six healthy and three voters: three stay",
			servers: append(three, nonVoters("p3", "p4", "p5", "p6")...), roster: append(healthyRoster("p1", "p2", "p3", "p4", "p5"), home("p6", 4*time.Second)),
		},
		{name: "at LargeAt-1 healthy homes five voters stay five",
			servers: append(voters(self, "p1", "p2", "p3", "p4"), nonVoters("p5")...), roster: healthyRoster("p1", "p2", "p3", "p4", "p5"),
		},
		{name: "at LargeAt-2 healthy homes five voters shrink",
			servers: voters(self, "p1", "p2", "p3", "p4"), roster: healthyRoster("p1", "p2", "p3", "p4"),
			want: []string{"demote p4"}},

		// Silent non-voters.
		{name: "removes every non-voter silent past RemoveAfter",
			servers: append(three, nonVoters("p4", "p5", "p6")...), roster: []RosterEntry{home("p1", 0), home("p2", 0), home("p4", gone), home("p5", gone), home("p6", dead)},
			want: []string{"remove silent non-voter p4", "remove silent non-voter p5"}},
		{name: "no non-voter removed in a round that changes suffrage",
			servers: append(voters(self, "p1"), nonVoters("p2", "p4")...), roster: []RosterEntry{home("p1", 0), home("p2", 0), home("p4", gone)},
			want: []string{"promote p2"}},
		{name: "adds and removals in one round",
			servers: append(three, nonVoters("p4")...), roster: []RosterEntry{home("p1", 0), home("p2", 0), home("p4", gone), asking("p3", ours)},
			want: []string{"add non-voter p3", "remove silent non-voter p4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			in := upkeepInput(tt.servers, tt.roster)
			if tt.in != nil {
				tt.in(&in)
			}
			got := brief(PlanUpkeep(in, upkeepNow, c))
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanUpkeepStandbys(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second) // 2 standbys
	dead := 10 * time.Second
	gone := 31 * time.Second
	three := voters(self, "p1", "p2")
	five := voters(self, "p1", "p2", "p3", "p4")
	tests := []struct {
		name    string
		servers []Server
		roster  []RosterEntry
		want    []string
	}{
		{name: "adds homes asking, in peer order, until two standbys",
			servers: three, roster: append(healthyRoster("p1", "p2"), asking("p5", ours), asking("p3", ours), asking("p4", ours)),
			want: []string{"add non-voter p3", "add non-voter p4"}},
		{name: "with two healthy standbys, a home asking stays out",
			servers: append(three, nonVoters("p3", "p4")...), roster: append(healthyRoster("p1", "p2", "p3", "p4"), asking("p5", ours))},
		{name: "a home holding this cluster's state stays out too",
			servers: append(three, nonVoters("p3", "p4")...), roster: healthyRoster("p1", "p2", "p3", "p4", "p5")},
		{name: "a silent standby leaves a place: a home asking takes it",
			servers: append(three, nonVoters("p3", "p4")...), roster: append(healthyRoster("p1", "p2", "p3"), home("p4", dead), asking("p5", ours)),
			want: []string{"add non-voter p5"}},
		{name: "homes outside count towards the size: seven homes want five voters",
			servers: append(three, nonVoters("p3", "p4")...), roster: append(healthyRoster("p1", "p2", "p3", "p4"), asking("p5", ours), asking("p6", ours)),
			want: []string{"promote p3"}},
		{name: "six homes, members or not, keep five voters (hysteresis)",
			servers: append(five, nonVoters("p5")...), roster: healthyRoster("p1", "p2", "p3", "p4", "p5")},
		{name: "a dead voter is replaced by a standby, and a home outside becomes a standby",
			servers: append(five, nonVoters("p5", "p6")...), roster: append(append(healthyRoster("p1", "p2", "p3", "p5", "p6"), home("p4", dead)), asking("p7", ours)),
			want: []string{"promote p5"}},
		{name: "the next round adds a home outside as a standby",
			servers: append(voters(self, "p1", "p2", "p3", "p4", "p5"), nonVoters("p6")...), roster: append(append(healthyRoster("p1", "p2", "p3", "p5", "p6"), home("p4", dead)), asking("p7", ours)),
			want: []string{"add non-voter p7", "remove silent voter p4"}},
		{name: "healthy non-voters beyond two are removed, the last in the configuration first",
			servers: append(five, nonVoters("p5", "p8", "p6", "p7")...), roster: healthyRoster("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"),
			want: []string{"remove spare non-voter p7", "remove spare non-voter p6"}},
		{name: "a silent non-voter leaves as silent, and counts for no standby",
			servers: append(three, nonVoters("p3", "p4", "p5")...), roster: append(healthyRoster("p1", "p2", "p3", "p4"), home("p5", gone)),
			want: []string{"remove silent non-voter p5"}},
		{name: "no spare removed in a round that changes suffrage",
			servers: append(voters(self, "p1"), nonVoters("p2", "p3", "p4")...), roster: healthyRoster("p1", "p2", "p3", "p4"),
			want: []string{"promote p2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := brief(PlanUpkeep(upkeepInput(tt.servers, tt.roster), upkeepNow, cfg))
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBeaconTargets(t *testing.T) {
	other := home("p6", 0)
	other.Cluster = "0009-z"
	gone := asking("p7", ours)
	gone.Heard, gone.Fresh = upkeepNow.Add(-31*time.Second), false
	silent := home("p66", 10*time.Second) // past the age that makes it fresh
	roster := []RosterEntry{home("p5", 0), asking("p4", ours), home("p1", 0), asking("p3", "0009-z"), other, gone, silent, home("p8", 0), asking("p9", "")}
	got := BeaconTargets(append(voters(self, "p1"), nonVoters("p2")...), roster, ours, []string{"p8"}, upkeepNow, 30*time.Second)
	if want := []string{"p4", "p5", "p66"}; !slices.Equal(got, want) {
		t.Errorf("targets %q, want %q: homes heard within 30 s asking for %s, no members, none revoked", got, want, ours)
	}
}

// The changes carry what the log says about them.
func TestPlanUpkeepDetails(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second)
	got := PlanUpkeep(upkeepInput(append(voters(self, "p1"), nonVoters("p2")...), healthyRoster("p1", "p2")), upkeepNow, cfg)
	if len(got) != 1 || got[0].Kind != ChangePromote || got[0].Voters != 3 || got[0].Reason == "" {
		t.Errorf("promotion %+v, want one promotion to 3 voters with a reason", got)
	}
	got = PlanUpkeep(upkeepInput(voters(self, "p1", "p2"), []RosterEntry{home("p1", 0), home("p2", 7*time.Second)}), upkeepNow, cfg)
	if len(got) != 1 || got[0].Kind != ChangeRemoveVoter || got[0].Silent != 7*time.Second || got[0].Voters != 2 {
		t.Errorf("removal %+v, want p2 removed after 7s of silence, 2 voters left", got)
	}
}

// PlanUpkeep reads its inputs and never writes them.
func TestPlanUpkeepLeavesInputs(t *testing.T) {
	servers := make([]Server, 0, 8)
	servers = append(servers, voters(self, "p1")...)
	roster := []RosterEntry{asking("p3", ours), home("p1", 0), asking("p2", ours)}
	wantServers, wantRoster := slices.Clone(servers), slices.Clone(roster)
	PlanUpkeep(upkeepInput(servers, roster), upkeepNow, DefaultFormationConfig(time.Second))
	if spare := servers[len(servers):cap(servers)]; !slices.Equal(servers, wantServers) || spare[0] != (Server{}) || !slices.Equal(roster, wantRoster) {
		t.Errorf("inputs changed: servers %v (spare capacity %v), roster %v", servers, spare, roster)
	}
}
