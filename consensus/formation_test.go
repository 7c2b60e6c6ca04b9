package consensus

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestDefaultFormationConfigIsValid(t *testing.T) {
	for _, period := range []time.Duration{200 * time.Millisecond, time.Second, 5 * time.Second} {
		if err := DefaultFormationConfig(period).Validate(); err != nil {
			t.Errorf("defaults for %v reports: %v", period, err)
		}
	}
}

func TestFormationConfigValidate(t *testing.T) {
	for name, change := range map[string]func(*FormationConfig){
		"no founders":                  func(c *FormationConfig) { c.Expect = 0 },
		"no voters":                    func(c *FormationConfig) { c.Voters = 0 },
		"large set smaller":            func(c *FormationConfig) { c.LargeVoters = c.Voters - 1 },
		"no threshold":                 func(c *FormationConfig) { c.LargeAt = 0 },
		"no witnesses":                 func(c *FormationConfig) { c.MergeWitnesses = 0 },
		"no settle":                    func(c *FormationConfig) { c.Settle = 0 },
		"no period":                    func(c *FormationConfig) { c.Period = 0 },
		"no replace":                   func(c *FormationConfig) { c.ReplaceAfter = 0 },
		"remove sooner than replace":   func(c *FormationConfig) { c.RemoveAfter = c.ReplaceAfter - 1 },
		"negative settle and no voter": func(c *FormationConfig) { c.Settle, c.Voters = -1, 0 },
	} {
		c := DefaultFormationConfig(time.Second)
		change(&c)
		if c.Validate() == nil {
			t.Errorf("%s: %+v accepted", name, c)
		}
	}
}

// unformed is a home without state, heard just now, naming founder.
func unformed(peer, founder string) RosterEntry {
	e := home(peer, 0)
	e.Joined, e.Cluster, e.Applied, e.Founder = false, "", 0, founder
	return e
}

func TestPlanFounding(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second)
	now := upkeepNow
	still := func(key string) FormationState {
		return FormationState{ViewKey: key, StableSince: now.Add(-cfg.Settle)}
	}
	tests := []struct {
		name        string
		self        string
		st          FormationState
		roster      []RosterEntry
		cfg         func(*FormationConfig)
		wantFounder string
		wantVoters  []string
		wantSeen    int
		wantView    FormationState
	}{
		{name: "a first round records the view and founds nothing",
			self: "p1", roster: []RosterEntry{unformed("p2", "p1"), unformed("p3", "p1")},
			wantFounder: "p1", wantSeen: 3, wantView: FormationState{ViewKey: "p1,p2,p3", StableSince: now}},
		{name: "the first home founds with the first Expect once the view was still for Settle",
			self: "p1", st: still("p1,p2,p3,p4"),
			roster:      []RosterEntry{unformed("p4", "p1"), unformed("p2", "p1"), unformed("p3", "p1")},
			wantFounder: "p1", wantVoters: []string{"p1", "p2", "p3"}, wantSeen: 4, wantView: still("p1,p2,p3,p4")},
		{name: "not before Settle",
			self: "p1", st: FormationState{ViewKey: "p1,p2,p3", StableSince: now.Add(-cfg.Settle + time.Nanosecond)},
			roster:      []RosterEntry{unformed("p2", "p1"), unformed("p3", "p1")},
			wantFounder: "p1", wantSeen: 3, wantView: FormationState{ViewKey: "p1,p2,p3", StableSince: now.Add(-cfg.Settle + time.Nanosecond)}},
		{name: "a changed view starts the settle window again",
			self: "p1", st: still("p1,p2"),
			roster:      []RosterEntry{unformed("p2", "p1"), unformed("p3", "p1")},
			wantFounder: "p1", wantSeen: 3, wantView: FormationState{ViewKey: "p1,p2,p3", StableSince: now}},
		{name: "fewer homes than Expect found nothing",
			self: "p1", st: still("p1,p2"), roster: []RosterEntry{unformed("p2", "p1")},
			wantFounder: "p1", wantSeen: 2, wantView: still("p1,p2")},
		{name: "Expect 1: a home alone founds alone",
			self: "p1", st: still("p1"), cfg: func(c *FormationConfig) { c.Expect = 1 },
			wantFounder: "p1", wantVoters: []string{"p1"}, wantSeen: 1, wantView: still("p1")},
		{name: "a home that does not sort first names the first and founds nothing",
			self: "p2", st: still("p1,p2,p3"), roster: []RosterEntry{unformed("p1", "p1"), unformed("p3", "p1")},
			wantFounder: "p1", wantSeen: 3, wantView: still("p1,p2,p3")},
		{name: "the first home waits until every other names it founder",
			self: "p1", st: still("p1,p2,p3"), roster: []RosterEntry{unformed("p2", "p1"), unformed("p3", "p2")},
			wantFounder: "p1", wantSeen: 3, wantView: still("p1,p2,p3")},
		{name: "a home with state heard: no founder, the view forgotten",
			self: "p1", st: still("p1,p2,p3"), roster: []RosterEntry{unformed("p2", "p1"), unformed("p3", "p1"), home("p4", 0)},
			wantView: FormationState{}},
		{name: "a home naming a cluster heard: no founder, the view forgotten",
			self: "p1", st: still("p1,p2,p3"),
			roster: func() []RosterEntry {
				e := unformed("p4", "p1")
				e.Cluster = ours
				return []RosterEntry{unformed("p2", "p1"), unformed("p3", "p1"), e}
			}(),
			wantView: FormationState{}},
		{name: "stale homes neither count nor hold founding back",
			self: "p1", st: still("p1,p2,p3"),
			roster: func() []RosterEntry {
				stale, staleState := unformed("p0", "p0"), home("p9", 10*time.Second)
				stale.Fresh = false
				return []RosterEntry{unformed("p2", "p1"), unformed("p3", "p1"), stale, staleState}
			}(),
			wantFounder: "p1", wantVoters: []string{"p1", "p2", "p3"}, wantSeen: 3, wantView: still("p1,p2,p3")},
		{name: "the home's own report counts once",
			self: "p1", st: still("p1,p2,p3"), roster: []RosterEntry{unformed("p1", "p1"), unformed("p2", "p1"), unformed("p3", "p1")},
			wantFounder: "p1", wantVoters: []string{"p1", "p2", "p3"}, wantSeen: 3, wantView: still("p1,p2,p3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			st, f := PlanFounding(tt.st, tt.self, tt.roster, now, c)
			if f.Founder != tt.wantFounder || !slices.Equal(f.Voters, tt.wantVoters) || f.Seen != tt.wantSeen {
				t.Errorf("founding %+v, want founder %q, voters %q, %d seen", f, tt.wantFounder, tt.wantVoters, tt.wantSeen)
			}
			if st != tt.wantView {
				t.Errorf("state %+v, want %+v", st, tt.wantView)
			}
		})
	}
}

// Homes that see each other found one cluster: only the first bootstraps,
// and only once every other names it.
func TestPlanFoundingOneFounder(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second)
	ids := []string{"p3", "p1", "p4", "p2"}
	states := make([]FormationState, len(ids))
	named := map[string]string{} // what each home announced last round
	founders, firstRound := map[string]bool{}, -1
	for round := range 8 {
		now := upkeepNow.Add(time.Duration(round) * cfg.Period)
		announced := map[string]string{}
		for i, self := range ids {
			var roster []RosterEntry
			for _, other := range ids {
				if other != self {
					roster = append(roster, unformed(other, named[other]))
				}
			}
			var f Founding
			states[i], f = PlanFounding(states[i], self, roster, now, cfg)
			announced[self] = f.Founder
			if f.Voters != nil {
				founders[self] = true
				if firstRound < 0 {
					firstRound = round
				}
			}
		}
		named = announced
	}
	// The view is the same from round 0, every home names p1 from round
	// 1: p1 founds once Settle has passed since round 0.
	if len(founders) != 1 || !founders["p1"] || firstRound != int(cfg.Settle/cfg.Period) {
		t.Errorf("founders %v, first in round %d; want p1 alone, in round %d", founders, firstRound, cfg.Settle/cfg.Period)
	}
}

func TestJoinable(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second) // ReplaceAfter 5 s, 2 witnesses
	in := func(peer, cluster string, ago time.Duration) RosterEntry {
		e := home(peer, ago)
		e.Cluster = cluster
		return e
	}
	tests := []struct {
		name   string
		roster []RosterEntry
		want   string
	}{
		{name: "no cluster heard", roster: []RosterEntry{unformed("p1", "p1")}},
		{name: "a cluster of one voter, one witness, is joined",
			roster: []RosterEntry{in("p1", "0002-c", 0)}, want: "0002-c"},
		{name: "of clusters none witnessed enough, the first",
			roster: []RosterEntry{in("p1", "0002-c", 0), in("p2", "0001-b", 0)}, want: "0001-b"},
		{name: "a witnessed cluster beats one that sorts first but one home announces",
			roster: []RosterEntry{in("p1", "0001-b", 0), in("p2", "0002-c", 0), in("p3", "0002-c", 0)}, want: "0002-c"},
		{name: "of witnessed clusters, the first",
			roster: []RosterEntry{in("p1", "0002-c", 0), in("p2", "0002-c", 0), in("p3", "0001-b", 0), in("p4", "0001-b", 0)}, want: "0001-b"},
		{name: "announcements up to ReplaceAfter old count, though not fresh",
			roster: []RosterEntry{in("p1", "0001-b", 5*time.Second), in("p2", "0001-b", 4*time.Second), in("p3", "0002-c", 0), in("p4", "0002-c", 0)}, want: "0001-b"},
		{name: "a name announced by too few homes beside a large cluster is not joined, though it sorts first",
			roster: []RosterEntry{in("p1", "0001-b", 0), in("p2", "0001-b", 0), in("p3", "0002-c", 0), in("p4", "0002-c", 0), in("p5", "0002-c", 0), in("p6", "0002-c", 0), in("p7", "0002-c", 0)}, want: "0002-c"},
		{name: "one peer reporting as several homes announces once",
			roster: []RosterEntry{in("p1", "0001-b", 0), in("p1", "0001-b", 0), in("p3", "0002-c", 0), in("p4", "0002-c", 0)}, want: "0002-c"},
		{name: "older announcements do not",
			roster: []RosterEntry{in("p1", "0001-b", 5*time.Second+time.Nanosecond), in("p2", "0001-b", 0), in("p3", "0002-c", 0), in("p4", "0002-c", 0)}, want: "0002-c"},
		{name: "a home without state naming a cluster is no witness",
			roster: func() []RosterEntry {
				e := unformed("p1", "")
				e.Cluster = "0001-b"
				return []RosterEntry{e}
			}()},
		{name: "a home with state of no named cluster is no witness",
			roster: []RosterEntry{in("p1", "", 0)}},
	}
	for _, tt := range tests {
		if got := Joinable(tt.roster, upkeepNow, cfg); got != tt.want {
			t.Errorf("%s: joins %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPlanWithoutState(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second)
	held := FormationState{ViewKey: "p1,p2", StableSince: upkeepNow.Add(-time.Minute), LeaderSince: upkeepNow, LeaderHeard: upkeepNow}

	st, p := PlanWithoutState(held, "p1", []RosterEntry{home("p2", 0)}, "", upkeepNow, cfg)
	if p.Join != ours || st != (FormationState{}) {
		t.Errorf("with a cluster heard: plan %+v, state %+v; want to join %s with everything forgotten", p, st, ours)
	}
	// A home following plans outside the configuration hears no reports:
	// it keeps asking for the cluster its leader's beacon names.
	st, p = PlanWithoutState(held, "p1", nil, ours, upkeepNow, cfg)
	if p.Join != ours || st != (FormationState{}) {
		t.Errorf("beaconed, no reports: plan %+v, state %+v; want to join %s", p, st, ours)
	}
	// What the reports name comes first: a beacon is one leader's word.
	witnessed := []RosterEntry{home("p2", 0), home("p3", 0)}
	if _, p = PlanWithoutState(held, "p1", witnessed, "0009-z", upkeepNow, cfg); p.Join != ours {
		t.Errorf("beaconed 0009-z, reports name %s: joins %q, want %s", ours, p.Join, ours)
	}
	st, p = PlanWithoutState(held, "p1", []RosterEntry{unformed("p2", "p1")}, "", upkeepNow, cfg)
	if p.Join != "" || p.Founding.Founder != "p1" || st.LeaderSince != (time.Time{}) || st.LeaderHeard != (time.Time{}) || st.ViewKey != "p1,p2" {
		t.Errorf("with no cluster heard: plan %+v, state %+v; want founding by p1, leader times forgotten", p, st)
	}
}

func TestPlanMerge(t *testing.T) {
	cfg := DefaultFormationConfig(time.Second) // ReplaceAfter 5 s, 2 witnesses
	now := upkeepNow
	of := func(peer, cluster string) RosterEntry {
		e := home(peer, 0)
		e.Cluster = cluster
		return e
	}
	stale := of("p9", "0000-a")
	stale.Fresh = false
	heardAgo := func(d time.Duration) FormationState { return FormationState{LeaderHeard: now.Add(-d)} }
	member := []Server{{ID: "p1"}, {ID: "p2", Voter: true}}
	voter := []Server{{ID: "p1", Voter: true}}
	tests := []struct {
		name         string
		st           FormationState
		in           MergeInput
		wantWinner   string
		wantOrphaned bool
		wantHeard    time.Time
	}{
		{name: "a named cluster joins one that sorts first, seen by two",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", LeaderKnown: true, Roster: []RosterEntry{of("p3", "0000-a"), of("p4", "0000-a")}},
			wantWinner: "0000-a", wantHeard: now},
		{name: "one witness is not enough",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", LeaderKnown: true, Roster: []RosterEntry{of("p3", "0000-a"), of("p4", "0001-b")}},
			wantHeard: now},
		{name: "a cluster that sorts after ours is not joined while ours is of a size with it",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, Roster: []RosterEntry{of("p2", "0001-b"), of("p3", "0002-c"), of("p4", "0002-c")}},
			wantHeard: now},
		{name: "a cluster that sorts after ours is joined when twice as many homes or more announce it",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, Roster: []RosterEntry{of("p3", "0002-c"), of("p4", "0002-c")}},
			wantWinner: "0002-c", wantHeard: now},
		{name: "a partition healing: the older cluster, of a size with ours, wins",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, Roster: []RosterEntry{
				of("p2", "0001-b"), of("p3", "0001-b"), of("p4", "0001-b"), of("p5", "0000-a"), of("p6", "0000-a"), of("p7", "0000-a")}},
			wantWinner: "0000-a", wantHeard: now},
		{name: "witness-lie: two members announcing a name that sorts first beside five homes of ours move nobody",
			st: heardAgo(0), in: MergeInput{Cluster: "0005-e", Self: "p1", LeaderKnown: true, Roster: []RosterEntry{
				of("p1", "0005-e"), of("p2", "0005-e"), of("p3", "0005-e"), of("p4", "0005-e"), of("p5", "0005-e"), of("p8", "0000-a"), of("p9", "0000-a")}},
			wantHeard: now},
		{name: "witness-lie: one member reporting as several homes is one announcer",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, Roster: []RosterEntry{
				of("p2", "0001-b"), of("p9", "0000-a"), of("p9", "0000-a"), of("p9", "0000-a")}},
			wantHeard: now},
		{name: "witness-lie: two members outweighed by a cluster of four, their own counted",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, Roster: []RosterEntry{
				of("p2", "0001-b"), of("p3", "0001-b"), of("p4", "0001-b"), of("p8", "0000-a"), of("p9", "0000-a")}},
			wantHeard: now},
		{name: "witness-lie: homes of ours not heard lately still count, as members of the configuration held",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, ServersKnown: true,
				Servers: []Server{{ID: "p1", Voter: true}, {ID: "p2", Voter: true}, {ID: "p3", Voter: true}, {ID: "p4"}, {ID: "p5"}},
				Roster:  []RosterEntry{of("p8", "0000-a"), of("p9", "0000-a")}},
			wantHeard: now},
		{name: "a partition healing: the configuration held counts for no more than it holds",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, ServersKnown: true,
				Servers: []Server{{ID: "p1", Voter: true}, {ID: "p2", Voter: true}, {ID: "p3", Voter: true}},
				Roster:  []RosterEntry{of("p5", "0000-a"), of("p6", "0000-a"), of("p7", "0000-a")}},
			wantWinner: "0000-a", wantHeard: now},
		{name: "two liars beside three homes are more than half: the bound of the rule",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", Self: "p1", LeaderKnown: true, Roster: []RosterEntry{
				of("p2", "0001-b"), of("p3", "0001-b"), of("p8", "0000-a"), of("p9", "0000-a")}},
			wantWinner: "0000-a", wantHeard: now},
		{name: "stale witnesses do not count",
			st: heardAgo(0), in: MergeInput{Cluster: "0001-b", LeaderKnown: true, Roster: []RosterEntry{of("p3", "0000-a"), stale}},
			wantHeard: now},
		{name: "of two winners, the first",
			st: heardAgo(0), in: MergeInput{Cluster: "0002-c", LeaderKnown: true, Roster: []RosterEntry{of("p3", "0001-b"), of("p4", "0001-b"), of("p5", "0000-a"), of("p6", "0000-a")}},
			wantWinner: "0000-a", wantHeard: now},
		{name: "a voter of a named cluster merges too",
			st: heardAgo(time.Minute), in: MergeInput{Cluster: "0001-b", Self: "p1", Servers: voter, ServersKnown: true, Roster: []RosterEntry{of("p3", "0000-a"), of("p4", "0000-a")}},
			wantWinner: "0000-a", wantHeard: now.Add(-time.Minute)},
		{name: "orphaned: no cluster named, no leader for longer than ReplaceAfter, no vote",
			st: heardAgo(6 * time.Second), in: MergeInput{Self: "p1", Servers: member, ServersKnown: true, Roster: []RosterEntry{of("p3", "0009-z"), of("p4", "0009-z")}},
			wantWinner: "0009-z", wantOrphaned: true, wantHeard: now.Add(-6 * time.Second)},
		{name: "not orphaned within ReplaceAfter",
			st: heardAgo(5 * time.Second), in: MergeInput{Self: "p1", Servers: member, ServersKnown: true, Roster: []RosterEntry{of("p3", "0009-z"), of("p4", "0009-z")}},
			wantHeard: now.Add(-5 * time.Second)},
		{name: "a voter never wipes on its own",
			st: heardAgo(time.Minute), in: MergeInput{Self: "p1", Servers: voter, ServersKnown: true, Roster: []RosterEntry{of("p3", "0009-z"), of("p4", "0009-z")}},
			wantHeard: now.Add(-time.Minute)},
		{name: "an unknown configuration counts as a vote",
			st: heardAgo(time.Minute), in: MergeInput{Self: "p1", Roster: []RosterEntry{of("p3", "0009-z"), of("p4", "0009-z")}},
			wantHeard: now.Add(-time.Minute)},
		{name: "a leader known now restarts the clock",
			st: heardAgo(time.Minute), in: MergeInput{Self: "p1", LeaderKnown: true, Servers: member, ServersKnown: true, Roster: []RosterEntry{of("p3", "0009-z"), of("p4", "0009-z")}},
			wantHeard: now},
		{name: "the first round with state starts the clock",
			in:        MergeInput{Self: "p1", Servers: member, ServersKnown: true, Roster: []RosterEntry{of("p3", "0009-z"), of("p4", "0009-z")}},
			wantHeard: now},
		{name: "an orphan with too few witnesses stays",
			st: heardAgo(time.Minute), in: MergeInput{Self: "p1", Servers: member, ServersKnown: true, Roster: []RosterEntry{of("p3", "0009-z")}},
			wantHeard: now.Add(-time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, m := PlanMerge(tt.st, tt.in, now, cfg)
			if m.Winner != tt.wantWinner || m.Orphaned != tt.wantOrphaned {
				t.Errorf("merge %+v, want winner %q, orphaned %v", m, tt.wantWinner, tt.wantOrphaned)
			}
			if m.Orphaned && m.NoLeaderFor != now.Sub(tt.st.LeaderHeard) {
				t.Errorf("no leader for %v, want %v", m.NoLeaderFor, now.Sub(tt.st.LeaderHeard))
			}
			if !st.LeaderHeard.Equal(tt.wantHeard) {
				t.Errorf("leader heard at %v, want %v", st.LeaderHeard, tt.wantHeard)
			}
		})
	}
}

func TestLeading(t *testing.T) {
	t0 := upkeepNow
	s := FormationState{}.Leading(true, t0)
	if !s.LeaderSince.Equal(t0) {
		t.Fatalf("on winning: leader since %v, want %v", s.LeaderSince, t0)
	}
	if s = s.Leading(true, t0.Add(time.Minute)); !s.LeaderSince.Equal(t0) {
		t.Fatalf("still leading: leader since %v, want %v", s.LeaderSince, t0)
	}
	if s = s.Leading(false, t0.Add(2*time.Minute)); !s.LeaderSince.IsZero() {
		t.Fatalf("after losing: leader since %v, want zero", s.LeaderSince)
	}
}

// The older cluster's name sorts first, whatever its leader; at one
// instant the leader ID decides; every name is valid on the wire.
func TestClusterName(t *testing.T) {
	const a, z = "12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "12D3KooWZzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
	t0 := time.UnixMilli(999)
	names := []string{
		ClusterName(z, t0),
		ClusterName(a, t0.Add(time.Millisecond)),
		ClusterName(z, t0.Add(time.Millisecond)),
		ClusterName(a, upkeepNow),
	}
	if !slices.IsSorted(names) {
		t.Errorf("names %q do not sort by age, then leader", names)
	}
	for _, n := range names {
		if err := gridmesh.ValidClusterName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
		if !strings.HasSuffix(n, "-"+a) && !strings.HasSuffix(n, "-"+z) {
			t.Errorf("%q does not end with its leader", n)
		}
	}
}
