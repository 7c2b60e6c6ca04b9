package testnet_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
	"github.com/gridmesh/gridmesh/testnet/browsertest"
)

// A short city: two neighborhoods of four homes (three with -short, the
// fewest that keep a quorum after the kill), demand response and a leader
// kill in twelve seconds, two homes on SunSpec inverters. `make testnet`
// runs the full-size one.
func TestShortCityTracksTargetsAndSurvivesLeaderKill(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 8, 2
	if testing.Short() {
		cfg.Homes = 6
	}
	perNbhd := cfg.Homes / cfg.Neighborhoods
	cfg.Duration = 12 * time.Second
	// Two homes (one per neighborhood) drive their devices over Modbus
	// TCP through the SunSpec driver, as real hybrid inverters.
	cfg.SunSpecHomes = 2
	cfg.Scenarios = []string{testnet.ScenarioDR, testnet.ScenarioLeaderKill}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	if len(rep.Neighborhood) != 2 {
		t.Fatalf("%d neighborhoods in the report", len(rep.Neighborhood))
	}
	for _, nb := range rep.Neighborhood {
		if nb.Leader == "" {
			t.Errorf("%s has no leader", nb.ID)
		}
		if nb.PlanCoverage != 1 {
			t.Errorf("%s plan coverage %v, want 1", nb.ID, nb.PlanCoverage)
		}
		if nb.LiveHomes != nb.Homes-1 {
			t.Errorf("%s: %d of %d homes live after one kill", nb.ID, nb.LiveHomes, nb.Homes)
		}
		if nb.TrackingErrorPct >= 5 {
			t.Errorf("%s tracking error %.2f%%, want under 5%%", nb.ID, nb.TrackingErrorPct)
		}
		if nb.LeaderChanges < 1 {
			t.Errorf("%s: leader changes %d after a kill", nb.ID, nb.LeaderChanges)
		}
	}
	if len(rep.FailoverMs) != 2 {
		t.Errorf("failover entries %v, want one per neighborhood", rep.FailoverMs)
	}
	// Every home listened, then every one followed a plan, and the CPU
	// spent by then was counted.
	if rep.StartupS <= 0 || rep.AllPlannedS < rep.StartupS || rep.AllPlannedCPUS <= 0 {
		t.Errorf("startup %.2f s, all planned %.2f s with %.2f s of CPU: want all three, planned after started",
			rep.StartupS, rep.AllPlannedS, rep.AllPlannedCPUS)
	}
	// Two target changes per neighborhood, the first reaching all its
	// homes, the second (after the kill) its survivors.
	if want := cfg.Neighborhoods * (perNbhd + perNbhd - 1); rep.SignalToSetpointMs.N != want {
		t.Errorf("%d signal-to-setpoint samples, want %d (every live home applies every change)", rep.SignalToSetpointMs.N, want)
	}
	t.Logf("failover %v ms, signal→setpoint %+v, ticks missed %d, rejected %v",
		rep.FailoverMs, rep.SignalToSetpointMs, rep.LoopTicksMissed, rep.RejectedMessages)
	checkSeries(t, rep)
	checkHTMLReport(t, rep)
}

// checkSeries: the run's series show every neighborhood's feeder against
// its target, a leader before the kill and another after it, and the
// failover between.
func checkSeries(t *testing.T, rep *testnet.Report) {
	t.Helper()
	s := rep.Series
	if s == nil || len(s.TS) == 0 || len(s.SoCMedianPct) != len(s.TS) {
		t.Fatalf("series %+v", s)
	}
	for _, ns := range s.Neighborhood {
		if len(ns.FeederW) != len(s.TS) || len(ns.TargetW) != len(s.TS) {
			t.Errorf("%s: %d feeder and %d target points for %d times", ns.ID, len(ns.FeederW), len(ns.TargetW), len(s.TS))
		}
		f := ns.Failover
		if f == nil || f.DoneS < f.KilledS {
			t.Errorf("%s: failover %+v, want a kill and its end", ns.ID, f)
			continue
		}
		var before, after bool
		for _, l := range ns.Leaders {
			before = before || l.FromS < f.KilledS
			after = after || l.FromS > f.KilledS
		}
		if !before || !after || ns.Leaders[0].Leader == ns.Leaders[len(ns.Leaders)-1].Leader {
			t.Errorf("%s: leaders %+v around a kill at %.1f s: want one before, another after", ns.ID, ns.Leaders, f.KilledS)
		}
	}
}

// checkHTMLReport writes the run's JSON and HTML reports, opens the HTML
// in Chromium and checks that every plot is drawn; it leaves a
// screenshot beside them ($GRIDMESH_ARTIFACTS, or a temporary directory).
func checkHTMLReport(t *testing.T, rep *testnet.Report) {
	t.Helper()
	dir := t.TempDir()
	if d := os.Getenv("GRIDMESH_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	jsonPath, htmlPath := filepath.Join(dir, "short-city-report.json"), filepath.Join(dir, "short-city-report.html")
	if err := rep.WriteFile(jsonPath); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(htmlPath); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	d, err := browsertest.Draw(ctx, "file://"+htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	// One per neighborhood's feeder, and the batteries'.
	if want := rep.Neighborhoods + 1; len(d.Plots) != want {
		t.Errorf("%d plots drawn, want %d", len(d.Plots), want)
	}
	for _, u := range d.Undrawn() {
		t.Error(u)
	}
	shot := filepath.Join(dir, "short-city-report.png")
	if err := browsertest.Screenshot(ctx, shot); err != nil {
		t.Fatal(err)
	}
	t.Logf("report %s and %s, screenshot %s: %d plots, %d figures", jsonPath, htmlPath, shot, len(d.Plots), d.FigureRows)
}

func TestConfigRejectsUnknownScenario(t *testing.T) {
	if _, err := testnet.ParseScenarios("dr,meteor"); err == nil {
		t.Fatal("unknown scenario accepted")
	}
	cfg := testnet.DefaultConfig()
	cfg.Homes = 1
	if err := cfg.Validate(); err == nil {
		t.Fatal("fewer homes than neighborhoods accepted")
	}
}

// The transport is tcp or mem, and the in-memory network rules out what
// must reach the homes from outside the process.
func TestConfigTransport(t *testing.T) {
	cfg := testnet.DefaultConfig()
	for _, tr := range []string{testnet.TransportTCP, testnet.TransportMem} {
		cfg.Transport = tr
		if err := cfg.Validate(); err != nil {
			t.Errorf("transport %s: %v", tr, err)
		}
	}
	cfg.Transport = "quic"
	if err := cfg.Validate(); err == nil {
		t.Error("unknown transport accepted")
	}
	cfg.Transport, cfg.Archive = testnet.TransportMem, t.TempDir()
	if err := cfg.Validate(); err == nil {
		t.Error("an archiver (TCP hosts) accepted on the in-memory network")
	}
}

// Rogues dial every home of two neighborhoods, publish plans and knock
// on Raft: they are refused, and no home applies their plans. On TCP, and
// on the in-memory network, where the rogues' hosts must speak it too to
// reach a home at all.
func TestRogueRefused(t *testing.T) {
	for _, transport := range []string{testnet.TransportTCP, testnet.TransportMem} {
		t.Run(transport, func(t *testing.T) { testRogueRefused(t, transport) })
	}
}

func testRogueRefused(t *testing.T, transport string) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 2
	cfg.Duration = 10 * time.Second
	cfg.AdmissionTimeout = 2 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioRogue}
	cfg.Transport = transport
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	// Each rogue is refused by each of the six homes.
	if rep.AdmissionRefused != 12 {
		t.Errorf("admission_refused %d, want 12 (2 rogues × 6 homes): %v", rep.AdmissionRefused, rep.RejectedMessages)
	}
	for _, detail := range []string{"no-certificate", "wrong-neighborhood"} {
		if n := rep.RejectedMessages["admission-refused/"+detail]; n != 6 {
			t.Errorf("admission-refused/%s: %d, want 6", detail, n)
		}
	}
	if rep.PlansFromNonMembersApplied != 0 || rep.RogueRaftRPCsAnswered != 0 {
		t.Errorf("plans from non-members applied %d, Raft RPCs answered %d", rep.PlansFromNonMembersApplied, rep.RogueRaftRPCsAnswered)
	}
	// Their plans never reach a home's validator: no home opens a
	// gossip stream with a peer it has not admitted.
	if rep.RoguePlansPublished == 0 || rep.RogueRaftRPCs == 0 {
		t.Errorf("the rogues published %d plans and sent %d Raft RPCs: the doors were not tried",
			rep.RoguePlansPublished, rep.RogueRaftRPCs)
	}
	if n := rep.RejectedMessages["non-member"]; n != 0 {
		t.Errorf("%d rogue messages reached a validator: the gossip gate let them through", n)
	}
	for _, nb := range rep.Neighborhood {
		if nb.PlanCoverage != 1 {
			t.Errorf("%s plan coverage %v, want 1", nb.ID, nb.PlanCoverage)
		}
	}
	t.Logf("refused %d, rejected %v, rogue plans %d, rogue RPCs %d; ran %.1f s, events up to %.0f ms late",
		rep.AdmissionRefused, rep.RejectedMessages, rep.RoguePlansPublished, rep.RogueRaftRPCs, rep.RanS, rep.EventsLateMaxMs)
}

// A run shorter than its rogues' admission timeout does not end with
// the verdict unknown: it goes on until every home has refused both
// rogues (the uncertified one AdmissionTimeout after it connected, which
// is past Duration), and reports every refusal.
func TestRunAwaitsRogueVerdicts(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 2 // three a neighborhood: enough to found a cluster
	cfg.Duration = 6 * time.Second
	cfg.AdmissionTimeout = cfg.Duration
	cfg.Scenarios = []string{testnet.ScenarioRogue}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	for _, detail := range []string{"no-certificate", "wrong-neighborhood"} {
		if n := rep.RejectedMessages["admission-refused/"+detail]; n != uint64(cfg.Homes) {
			t.Errorf("admission-refused/%s: %d, want %d (one per home)", detail, n, cfg.Homes)
		}
	}
	if rep.RanS <= rep.DurationS {
		t.Errorf("ran %.1f s of a %.1f s duration: the refusals AdmissionTimeout after the rogues came cannot have been awaited", rep.RanS, rep.DurationS)
	}
	t.Logf("ran %.1f s for a %.0f s duration, events up to %.0f ms late", rep.RanS, rep.DurationS, rep.EventsLateMaxMs)
}

// The self-organization scenarios, short: neighborhoods of five homes start at one
// instant and organize themselves, lose and regain homes, and have their
// leaders paused; one cluster each, nothing stale applied, every home
// following its neighborhood's newest plan at the end.
func TestSelfOrganizingCityColdStartChurnPause(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 10, 2
	cfg.Duration = 24 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioColdStart, testnet.ScenarioChurn, testnet.ScenarioPauseLeader}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("errors: %v", rep.Errors)
	}
	for _, nb := range rep.Neighborhood {
		if nb.ClustersFormed != 1 || nb.ClusterMerges != 0 {
			t.Errorf("%s: %d clusters formed, %d merges; want 1 and 0", nb.ID, nb.ClustersFormed, nb.ClusterMerges)
		}
		if nb.PlanCoverage != 1 {
			t.Errorf("%s: plan coverage %v at the end", nb.ID, nb.PlanCoverage)
		}
		if nb.LiveHomes != nb.Homes {
			t.Errorf("%s: %d of %d homes live; churn brings every home back", nb.ID, nb.LiveHomes, nb.Homes)
		}
	}
	if rep.StalePlansApplied != 0 {
		t.Errorf("%d stale plans applied", rep.StalePlansApplied)
	}
	want := testnet.ChurnReport{Joins: 6, Crashes: 2, Leaves: 2, Pauses: 2}
	if rep.Churn != want {
		t.Errorf("churn did %+v, want %+v", rep.Churn, want)
	}
	t.Logf("ran %.1f s, events up to %.0f ms late", rep.RanS, rep.EventsLateMaxMs)
}

// cancelOnLine cancels a run's context at the n-th summary line: a stop
// from outside in the middle of the run. It first lists dir, where the
// run keeps its data then.
type cancelOnLine struct {
	n      int
	cancel context.CancelFunc
	dir    string
	seen   []os.DirEntry
}

func (w *cancelOnLine) Write(b []byte) (int, error) {
	if w.n--; w.n == 0 {
		w.seen, _ = os.ReadDir(w.dir)
		w.cancel()
	}
	return len(b), nil
}

// A run stopped from outside, with rogues attacking and a frequency probe
// running, returns at once with the context's error, and leaves no data
// directory behind; nor does a run that never got to start its homes.
func TestCancelledRunCleansUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the city makes its data directory
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 4, 2
	cfg.Duration = 40 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioChurn, testnet.ScenarioRogue, testnet.ScenarioFrequencyDip}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Rogues arrive at Duration/8 (5 s), the dip at Duration/4 (10 s):
	// stop at the twelfth summary line, with both under way.
	w := &cancelOnLine{n: 12, cancel: cancel, dir: tmp}
	cfg.Summary = w
	start := time.Now()
	if _, err := testnet.Run(ctx, cfg, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v, want context.Canceled", err)
	}
	if len(w.seen) != 1 {
		t.Fatalf("during the run %s held %d entries, want the city's data directory", tmp, len(w.seen))
	}
	if took := time.Since(start); took >= cfg.Duration {
		t.Errorf("a cancelled run took %v, its whole duration", took)
	}
	assertEmpty(t, tmp)

	done, stop := context.WithCancel(context.Background())
	stop()
	cfg.Summary = nil
	if _, err := testnet.Run(done, cfg, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("run cancelled before it started: %v, want context.Canceled", err)
	}
	assertEmpty(t, tmp)
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind: %s", e.Name())
	}
}
