package consensus

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var seed = flag.Uint64("seed", 0, "seed of the random tests; 0 picks one from the clock")

// testRand returns a generator seeded by -seed, or from the clock, and
// logs the seed so a failure can be replayed.
func testRand(t *testing.T) *rand.Rand {
	t.Helper()
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed=%d)", s, s)
	return rand.New(rand.NewPCG(s, 0))
}

// randomRound is one leader's round of upkeep over a random neighborhood:
// up to 9 members and 4 outsiders, reports from just now to 40 s old,
// logs up to 40 entries behind, clusters that sort before and after the
// leader's, and a random valid configuration (its health window may
// outlast ReplaceAfter).
func randomRound(r *rand.Rand) (UpkeepInput, FormationConfig) {
	period := time.Duration(100+r.IntN(1900)) * time.Millisecond
	cfg := DefaultFormationConfig(period)
	cfg.Voters = 1 + r.IntN(3)
	cfg.LargeVoters = cfg.Voters + r.IntN(3)
	cfg.LargeAt = 1 + r.IntN(9)
	cfg.Standbys = AllHomes + r.IntN(5)
	in := UpkeepInput{
		Self: "p0", Cluster: ours, LeaderApplied: 40 + uint64(r.IntN(100)),
		LeaderSince: upkeepNow.Add(-time.Duration(r.IntN(60_000)) * time.Millisecond),
		MaxAge:      time.Duration(1+r.IntN(6)) * period,
	}
	in.Servers = []Server{{ID: in.Self, Voter: true}}
	for i := range r.IntN(9) {
		in.Servers = append(in.Servers, Server{ID: fmt.Sprintf("p%d", i+1), Voter: r.IntN(2) == 0})
	}
	r.Shuffle(len(in.Servers), func(i, j int) { in.Servers[i], in.Servers[j] = in.Servers[j], in.Servers[i] })
	clusters := []string{ours, ours, ours, "", "0009-z", "0000-a"}
	report := func(peer string) RosterEntry {
		ago := time.Duration(r.IntN(40_000)) * time.Millisecond
		e := RosterEntry{
			Peer: peer, Heard: upkeepNow.Add(-ago), First: upkeepNow.Add(-time.Duration(r.IntN(5)) * time.Second),
			Fresh: ago <= in.MaxAge, Joined: r.IntN(4) != 0, Applied: in.LeaderApplied - uint64(r.IntN(40)),
		}
		if e.Joined {
			e.Cluster = clusters[r.IntN(len(clusters))]
		} else {
			e.Joining = clusters[r.IntN(len(clusters))]
		}
		return e
	}
	for _, s := range in.Servers {
		if s.ID != in.Self && r.IntN(8) != 0 {
			in.Roster = append(in.Roster, report(s.ID))
		}
	}
	for i := range r.IntN(5) {
		in.Roster = append(in.Roster, report(fmt.Sprintf("q%d", i)))
	}
	return in, cfg
}

// heardWithin is the property's own reading of health: the leader
// itself, or a member whose last report, or the leader's election if
// later, is at most MaxAge old.
func heardWithin(in UpkeepInput, now time.Time, id string, d time.Duration) bool {
	if id == in.Self {
		return true
	}
	at := in.LeaderSince
	for _, e := range in.Roster {
		if e.Peer == id && e.Heard.After(at) {
			at = e.Heard
		}
	}
	return now.Sub(at) <= d
}

// Over random neighborhoods, upkeep keeps its promises: adds come first
// and only for fresh homes asking for this cluster; at most one change
// of suffrage, and silent non-voters leave only in a round without one;
// no voter leaves or loses its vote when the voters still heard would
// be fewer than a quorum; the leader never touches itself; nothing at
// all while a cluster that sorts first is heard.
func TestPlanUpkeepProperties(t *testing.T) {
	r := testRand(t)
	seen := map[ChangeKind]int{}
	for round := range 20_000 {
		in, cfg := randomRound(r)
		changes := PlanUpkeep(in, upkeepNow, cfg)
		if err := checkUpkeep(in, cfg, changes); err != nil {
			t.Fatalf("round %d: %v\ninput %+v\nconfig %+v\nchanges %+v", round, err, in, cfg, changes)
		}
		for _, c := range changes {
			seen[c.Kind]++
		}
	}
	// The properties say something only if every kind of change was
	// planned.
	for _, k := range []ChangeKind{ChangeAddNonvoter, ChangePromote, ChangeRemoveVoter, ChangeDemote, ChangeRemoveNonvoter, ChangeRemoveSpare} {
		if seen[k] == 0 {
			t.Errorf("no %s in 20,000 random rounds: the generator misses a branch", k)
		}
	}
	t.Logf("changes planned: %v", seen)
}

func checkUpkeep(in UpkeepInput, cfg FormationConfig, changes []Change) error {
	if sortingFirstHeard(in.Roster, in.Cluster) && len(changes) > 0 {
		return fmt.Errorf("changes while a cluster sorting first is heard")
	}
	servers := slices.Clone(in.Servers)
	suffrage, removals := 0, 0
	for i, c := range changes {
		if c.Peer == in.Self && c.Kind != ChangeAddNonvoter {
			return fmt.Errorf("change %d: %s of the leader itself", i, c.Kind)
		}
		if c.Kind.Suffrage() {
			suffrage++
		}
		if c.Kind == ChangeRemoveNonvoter || c.Kind == ChangeRemoveSpare {
			removals++
		}
		switch {
		case suffrage > 1:
			return fmt.Errorf("change %d: a second change of suffrage", i)
		case c.Kind == ChangeAddNonvoter && (suffrage > 0 || removals > 0):
			return fmt.Errorf("change %d: an add after other changes", i)
		case suffrage > 0 && removals > 0:
			return fmt.Errorf("change %d: a silent non-voter removed in a round that changes suffrage", i)
		}
		var err error
		if servers, err = checkChange(in, cfg, servers, c); err != nil {
			return fmt.Errorf("change %d (%s %s): %w", i, c.Kind, c.Peer, err)
		}
	}
	return nil
}

// checkChange checks one change against the configuration before it and
// returns the configuration after it.
func checkChange(in UpkeepInput, cfg FormationConfig, servers []Server, c Change) ([]Server, error) {
	i := slices.IndexFunc(servers, func(s Server) bool { return s.ID == c.Peer })
	if c.Kind == ChangeAddNonvoter {
		after, err := addedOK(in, servers, i, c.Peer)
		if err == nil && cfg.Standbys >= 0 && standbys(in, after) > cfg.Standbys {
			return nil, fmt.Errorf("added beyond %d healthy standbys", cfg.Standbys)
		}
		return after, err
	}
	if i < 0 {
		return nil, fmt.Errorf("not a member")
	}
	switch c.Kind {
	case ChangePromote:
		e, ok := entry(in, c.Peer)
		if servers[i].Voter || !ok || !heardWithin(in, upkeepNow, c.Peer, in.MaxAge) || e.Applied+catchUpLag < in.LeaderApplied {
			return nil, fmt.Errorf("promoted a voter, an unhealthy home or one not caught up")
		}
		servers[i].Voter = true
		return servers, nil
	case ChangeRemoveVoter, ChangeDemote:
		if !servers[i].Voter {
			return nil, fmt.Errorf("not a voter")
		}
		if c.Kind == ChangeRemoveVoter && heardWithin(in, upkeepNow, c.Peer, cfg.ReplaceAfter) {
			return nil, fmt.Errorf("removed a voter heard within ReplaceAfter")
		}
		total, heard := 0, 0
		for _, s := range servers {
			if s.Voter && s.ID != c.Peer {
				total++
				if heardWithin(in, upkeepNow, s.ID, in.MaxAge) {
					heard++
				}
			}
		}
		if heard < total/2+1 {
			return nil, fmt.Errorf("%d of the %d voters left heard: fewer than a quorum", heard, total)
		}
		if c.Kind == ChangeDemote {
			servers[i].Voter = false
			return servers, nil
		}
		return slices.Delete(servers, i, i+1), nil
	case ChangeRemoveSpare:
		if servers[i].Voter || !heardWithin(in, upkeepNow, c.Peer, in.MaxAge) || cfg.Standbys < 0 || standbys(in, servers) <= cfg.Standbys {
			return nil, fmt.Errorf("removed a voter, an unhealthy home, or a standby the neighborhood keeps")
		}
		return slices.Delete(servers, i, i+1), nil
	case ChangeRemoveNonvoter:
		if servers[i].Voter || heardWithin(in, upkeepNow, c.Peer, cfg.RemoveAfter) {
			return nil, fmt.Errorf("removed a voter or a home heard within RemoveAfter")
		}
		return slices.Delete(servers, i, i+1), nil
	}
	return nil, fmt.Errorf("unknown change")
}

// standbys counts the healthy non-voters of servers.
func standbys(in UpkeepInput, servers []Server) int {
	n := 0
	for _, s := range servers {
		if !s.Voter && heardWithin(in, upkeepNow, s.ID, in.MaxAge) {
			n++
		}
	}
	return n
}

func addedOK(in UpkeepInput, servers []Server, i int, peer string) ([]Server, error) {
	e, ok := entry(in, peer)
	asks := e.Joining == in.Cluster
	if e.Joined {
		asks = e.Cluster == in.Cluster
	}
	if i >= 0 || !ok || !e.Fresh || !asks {
		return nil, fmt.Errorf("added a member, a stale home or one not asking for this cluster")
	}
	return append(servers, Server{ID: peer}), nil
}

func entry(in UpkeepInput, peer string) (RosterEntry, bool) {
	i := slices.IndexFunc(in.Roster, func(e RosterEntry) bool { return e.Peer == peer })
	if i < 0 {
		return RosterEntry{}, false
	}
	return in.Roster[i], true
}
