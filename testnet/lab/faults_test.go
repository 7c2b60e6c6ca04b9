package lab

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestFlapSchedule(t *testing.T) {
	s := time.Second
	tests := []struct {
		name            string
		total, down, up time.Duration
		want            []linkChange
	}{
		{"the default: five downs in 30 s", 30 * s, 3 * s, 3 * s, []linkChange{
			{0, true}, {3 * s, false}, {6 * s, true}, {9 * s, false}, {12 * s, true}, {15 * s, false},
			{18 * s, true}, {21 * s, false}, {24 * s, true}, {27 * s, false},
		}},
		{"a down cut short by the end", 7 * s, 3 * s, 1 * s, []linkChange{{0, true}, {3 * s, false}, {4 * s, true}, {7 * s, false}}},
		{"shorter than one down", 2 * s, 3 * s, 3 * s, []linkChange{{0, true}, {2 * s, false}}},
		{"nothing to flap", 0, 3 * s, 3 * s, nil},
		{"no down period", 10 * s, 0, 3 * s, nil},
	}
	for _, tc := range tests {
		got := flapSchedule(tc.total, tc.down, tc.up)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if len(got) > 0 && got[len(got)-1].Down {
			t.Errorf("%s: ends down", tc.name)
		}
	}
}

// An impairment drops what it says on top of the profile, and nothing
// once lifted.
func TestShaperImpairment(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const n = 100_000
	tests := []struct {
		name     string
		profile  string
		imp      Impairment
		reason   string
		wantPct  float64
		tolerPct float64
	}{
		{"down drops everything", "broadband", Impairment{Down: true}, "down", 100, 0},
		{"30 % on a lan", "lan", Impairment{LossPct: 30}, "impaired", 30, 1},
		{"30 % on broadband, beside its own", "broadband", Impairment{LossPct: 30}, "impaired", 30, 1},
		{"lifted", "lan", Impairment{}, "impaired", 0, 0},
	}
	for _, tc := range tests {
		s := newShaper(Profiles[tc.profile], rand.New(rand.NewPCG(seed, 3)))
		now := time.Unix(0, 0)
		drops := map[string]int{}
		for range n {
			now = now.Add(time.Millisecond)
			if v := s.admit(now, 200, tc.imp); v.Drop {
				drops[v.Reason]++
			}
		}
		got := 100 * float64(drops[tc.reason]) / n
		if math.Abs(got-tc.wantPct) > tc.tolerPct {
			t.Errorf("%s: %.2f %% dropped as %s, want %.2f", tc.name, got, tc.reason, tc.wantPct)
		}
		if tc.imp.Down && len(drops) != 1 {
			t.Errorf("%s: drops %v: a down link drops for no other reason", tc.name, drops)
		}
		if p := Profiles[tc.profile]; !tc.imp.Down && p.LossPct > 0 && math.Abs(100*float64(drops["loss"])/n-p.LossPct*(1-tc.imp.LossPct/100)) > 0.1 {
			t.Errorf("%s: profile loss %.3f %% of all packets, want its %.2f %% of those the impairment let through", tc.name, 100*float64(drops["loss"])/n, p.LossPct)
		}
	}
}

// A flap's window counts the homes left without a plan and the leader
// changes in its neighborhood only, until it is closed.
func TestTrackerFaultWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	names := []string{"a", "b", "c", "d"}
	tr := newTracker(t0, []int{0, 0, 0, 1}, 2)
	tr.observe(t0, []sample{st("A", true, 2, 5), st("B", false, 2, 5), st("C", false, 2, 5), st("D", true, 1, 3)})
	f := tr.fault(t0.Add(time.Second), "flap", names, 0, []int{0})
	// a's link is down: it does not answer; c has lost its plan; d, of
	// the other neighborhood, too, which the flap does not count.
	noPlan := func(s sample) sample { s.st.HasPlan = false; return s }
	tr.observe(t0.Add(2*time.Second), []sample{down, st("B", true, 3, 6), noPlan(st("C", false, 2, 5)), noPlan(st("D", true, 1, 3))})
	tr.observe(t0.Add(3*time.Second), []sample{st("A", false, 3, 7), st("B", true, 3, 7), st("C", false, 3, 7), st("D", true, 1, 4)})
	tr.closeFault(f)
	// After the window: more lost plans and leaders are not the flap's.
	tr.observe(t0.Add(4*time.Second), []sample{noPlan(st("A", true, 4, 7)), noPlan(st("B", false, 3, 7)), st("C", false, 3, 7), st("D", true, 1, 4)})
	if !f.done || f.FailoverMs != 2000 {
		t.Errorf("failover done %v after %v ms, want 2000", f.done, f.FailoverMs)
	}
	if f.WithoutPlanMax != 1 || f.LeaderChanges != 1 {
		t.Errorf("flap window: without plan max %d, leader changes %d; want 1, 1", f.WithoutPlanMax, f.LeaderChanges)
	}
	loss := tr.cityFault(t0.Add(5*time.Second), "loss")
	tr.observe(t0.Add(6*time.Second), []sample{noPlan(st("A", true, 4, 7)), st("B", false, 4, 8), noPlan(st("C", false, 3, 7)), noPlan(st("D", false, 1, 4))})
	var r Report
	tr.report(&r, names, []string{"n0", "n1"}, []bool{true, true, true, true})
	if loss.WithoutPlanMax != 3 || loss.Neighborhood != "" || loss.FailoverMs != -1 {
		t.Errorf("loss: %+v; want 3 homes without a plan, city-wide, no failover", loss.Fault)
	}
	if r.Flaps != 1 || r.LossWindows != 1 || len(r.FailoverMs) != 1 {
		t.Errorf("flaps %d, loss windows %d, failovers %v; want 1, 1, one", r.Flaps, r.LossWindows, r.FailoverMs)
	}
}
