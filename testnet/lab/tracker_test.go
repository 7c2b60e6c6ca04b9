package lab

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// st is a home's status with a plan of epoch term/index.
func st(peer string, leader bool, term, index uint64) sample {
	return sample{ok: true, st: status{
		PeerID: peer, IsLeader: leader, Term: term, Cluster: "c1",
		HasPlan: index > 0, EverPlanned: true,
		PlanEpoch: gridmesh.Epoch{Term: term, Index: index}, CommittedEpoch: gridmesh.Epoch{Term: term, Index: index},
		Counters: map[string]uint64{"clusters_founded": 0},
	}}
}

var down = sample{}

func TestTrackerKillFailoverAndRestart(t *testing.T) {
	t0 := time.Unix(1000, 0)
	names := []string{"a", "b", "c"}
	tr := newTracker(t0, []int{0, 0, 0}, 1)
	tr.observe(t0.Add(time.Second), []sample{st("A", true, 2, 5), st("B", false, 2, 5), st("C", false, 2, 5)})
	if l, term := tr.leaderOf(0); l != 0 || term != 2 {
		t.Fatalf("leader %d term %d, want 0, 2", l, term)
	}
	f := tr.fault(t0.Add(2*time.Second), "kill", names, 0, []int{0})
	// An election: b leads term 3, c still holds the old plan.
	tr.observe(t0.Add(3*time.Second), []sample{down, st("B", true, 3, 7), st("C", false, 2, 5)})
	if f.done {
		t.Fatal("failover before every home holds the new term's plan")
	}
	tr.observe(t0.Add(4*time.Second+500*time.Millisecond), []sample{down, st("B", true, 3, 8), st("C", false, 3, 8)})
	if !f.done || f.FailoverMs != 2500 {
		t.Fatalf("failover done %v after %v ms, want 2500", f.done, f.FailoverMs)
	}
	tr.restarted(0)
	// The restarted home comes back in its cluster, founding none.
	tr.observe(t0.Add(10*time.Second), []sample{st("A", false, 3, 9), st("B", true, 3, 9), st("C", false, 3, 9)})
	var r Report
	tr.report(&r, names, []string{"n0"}, []bool{true, true, true})
	if r.Kills != 1 || r.Restarts != 1 || r.RestartsFromDisk != 1 || r.NewClustersAfterRestart != 0 {
		t.Errorf("kills %d restarts %d from disk %d new clusters %d", r.Kills, r.Restarts, r.RestartsFromDisk, r.NewClustersAfterRestart)
	}
	nb := r.Neighborhood[0]
	if nb.Leader != "b" || nb.LeaderChanges != 1 || nb.PlanCoverage != 1 || nb.FirstPlanMs != 1000 {
		t.Errorf("neighborhood %+v", nb)
	}
	if len(r.FailoverMs) != 1 || r.StalePlansApplied != 0 {
		t.Errorf("failovers %v, stale %d", r.FailoverMs, r.StalePlansApplied)
	}
}

// A plan of an old term applied after a newer term was seen is stale.
func TestTrackerStalePlan(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := newTracker(t0, []int{0, 0, 0}, 1)
	tr.observe(t0, []sample{st("A", true, 2, 5), st("B", false, 2, 5), st("C", false, 2, 5)})
	tr.observe(t0.Add(time.Second), []sample{down, st("B", true, 3, 6), st("C", false, 2, 5)})
	if tr.stale != 0 {
		t.Fatalf("stale %d before any old plan applied late", tr.stale)
	}
	// The stopped leader wakes and c applies its newer plan of term 2.
	tr.observe(t0.Add(2*time.Second), []sample{st("A", true, 2, 6), st("B", true, 3, 7), st("C", false, 2, 6)})
	if tr.stale != 2 {
		t.Fatalf("stale %d, want 2 (a and c applied term-2 plans after term 3)", tr.stale)
	}
}

// A minority's plan newer than anything its majority holds is a breach;
// one the majority holds is not.
func TestTrackerMinority(t *testing.T) {
	t0 := time.Unix(1000, 0)
	names := []string{"a", "b", "c"}
	for _, tc := range []struct {
		name       string
		minorityAt uint64 // index a applies in the minority
		want       uint64
	}{
		{"committed before the cut", 6, 0},
		{"committed alone", 7, 1},
	} {
		tr := newTracker(t0, []int{0, 0, 0}, 1)
		tr.observe(t0, []sample{st("A", true, 2, 5), st("B", false, 2, 5), st("C", false, 2, 5)})
		tr.fault(t0.Add(time.Second), "partition", names, 0, []int{0})
		// b's log holds 2/6 (replicated before the cut).
		tr.observe(t0.Add(2*time.Second), []sample{st("A", true, 2, tc.minorityAt), st("B", false, 2, 6), st("C", false, 2, 5)})
		tr.healed()
		if tr.minority != tc.want {
			t.Errorf("%s: minority plans %d, want %d", tc.name, tr.minority, tc.want)
		}
	}
}

func TestBootstrapFor(t *testing.T) {
	nbOf := []int{0, 1, 0, 1, 0, 1}
	for _, tc := range []struct {
		home int
		want []int
	}{
		{0, []int{1}},       // first of n0: the first of n1 (previous, wrapping)
		{2, []int{0, 1}},    // second of n0: n0's first, n1's first
		{4, []int{0, 2, 1}}, // third: n0's first, the one before, n1's first
		{5, []int{1, 3, 0}},
	} {
		got := bootstrapFor(tc.home, nbOf, 2, make([]bool, len(nbOf)))
		if len(got) != len(tc.want) {
			t.Errorf("home %d: %v, want %v", tc.home, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("home %d: %v, want %v", tc.home, got, tc.want)
				break
			}
		}
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := ParseScenarios("partition, kill,kill")
	if err != nil || len(got) != 2 || got[0] != "kill" || got[1] != "partition" {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseScenarios("kill,meteor"); err == nil {
		t.Error("unknown scenario accepted")
	}
	if got, err := ParseScenarios(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
}
