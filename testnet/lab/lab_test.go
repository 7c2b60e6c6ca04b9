package lab_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet/lab"
)

// The small lab: six home processes in two neighborhoods over home
// broadband, one of them behind its own NAT; a leader killed and
// restarted from disk, a leader stopped past an election, a leader cut
// off in a minority; its city page read while it runs (citypage_test.go).
// It needs root and fails, never skips, where namespaces are
// unavailable: CI runs as root.
func TestSmallLab(t *testing.T) {
	if testing.Short() {
		t.Log("-short: the small lab still runs (it is the only test of home processes)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gridmesh")
	build := exec.Command("go", "build", "-o", bin, "github.com/gridmesh/gridmesh/cmd/gridmesh")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := lab.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods, cfg.Link, cfg.NATHomes = 6, 2, "broadband", 1
	cfg.Scenarios = []string{"kill", "stop", "partition"}
	cfg.Duration = 30 * time.Second // the faults take longer: the run lasts until they are done
	cfg.Binary, cfg.Dir = bin, filepath.Join(dir, "homes")
	if err := os.Mkdir(cfg.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testLogger(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dashboard = ln
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// The city's page is read while the lab runs, from formation on (the
	// faults start then); Run serves it until it returns.
	pageCtx, pageDone := context.WithCancel(ctx)
	page := &cityPageCheck{base: "http://" + ln.Addr().String() + "/", client: &http.Client{Timeout: 5 * time.Second}, logf: t.Logf}
	pageErr := make(chan error, 1)
	go func() { pageErr <- page.run(pageCtx) }()
	rep, err := lab.Run(ctx, cfg)
	pageDone()
	if perr := <-pageErr; perr != nil {
		t.Errorf("city page: %v", perr)
	}
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	if err := rep.WriteFile(filepath.Join(dir, "report.json")); err != nil {
		t.Fatal(err)
	}
	t.Logf("failover ms %v, homes without plan max %d, packets %+v", rep.FailoverMs, rep.HomesWithoutValidPlanMax, rep.Packets)
	assertNoLeftovers(t, rep.RunID)
	for _, e := range rep.Errors {
		t.Errorf("lab error: %s", e)
	}
	if rep.Kills != 1 || rep.Stops != 1 || rep.Partitions != 1 {
		t.Errorf("kills %d, stops %d, partitions %d; want 1 each", rep.Kills, rep.Stops, rep.Partitions)
	}
	if len(rep.FailoverMs) != 3 {
		t.Errorf("failovers %v: want one per fault", rep.FailoverMs)
	}
	for _, f := range rep.Faults {
		if f.FailoverMs <= 0 || f.BackMs <= 0 {
			t.Errorf("%s of %s: failover after %v ms, back after %v ms: want both seen", f.Kind, f.Home, f.FailoverMs, f.BackMs)
		}
	}
	if !rep.Linearizable || rep.LinearizabilityOps == 0 || rep.Linearizability.EventsMissed != 0 {
		t.Errorf("plan history: linearizable %v over %d operations, %d events missed: want true over some, none missed (%+v)", rep.Linearizable, rep.LinearizabilityOps, rep.Linearizability.EventsMissed, rep.Linearizability)
	}
	if rep.StalePlansApplied != 0 || rep.MinorityPlansApplied != 0 {
		t.Errorf("stale plans applied %d, minority plans applied %d; want 0", rep.StalePlansApplied, rep.MinorityPlansApplied)
	}
	if rep.Restarts != 1 || rep.RestartsFromDisk != 1 || rep.NewClustersAfterRestart != 0 {
		t.Errorf("restarts %d, from disk %d, new clusters after %d; want 1, 1, 0", rep.Restarts, rep.RestartsFromDisk, rep.NewClustersAfterRestart)
	}
	for _, nb := range rep.Neighborhood {
		if nb.ClustersFormed != 1 || nb.PlanCoverage != 1 || nb.LiveHomes != 3 {
			t.Errorf("neighborhood %s: clusters %d, coverage %.2f, live %d; want 1, 1, 3", nb.ID, nb.ClustersFormed, nb.PlanCoverage, nb.LiveHomes)
		}
	}
	if p := rep.Processes; p.Started != 7 || p.Unexpected != 0 || p.RunningAtEnd != 6 {
		t.Errorf("processes %+v: want 7 started (6 and a restart), none exited unexpectedly, 6 at the end", p)
	}
	if rep.NATHomes != 1 || rep.NATHomesFollowing != 1 {
		t.Errorf("homes behind NAT %d, following plans %d; want 1, 1", rep.NATHomes, rep.NATHomesFollowing)
	}
	for _, h := range rep.NAT {
		// A home behind NAT must never take itself for public. Whether
		// AutoNAT reaches "private" within the small lab's minute depends
		// on how many peers probed it by then (v1 waits 15 s for a dial
		// back that never comes): it is logged, as a figure, not judged.
		if h.EverPublic {
			t.Errorf("home %s behind NAT found itself public: its NAT refuses every dial back", h.Home)
		}
		t.Logf("home %s behind NAT: ever private %v, now %q", h.Home, h.EverPrivate, h.Reachability)
	}
	if rep.Packets.Lost == 0 || rep.Packets.Up == 0 {
		t.Errorf("packets %+v: broadband loses some", rep.Packets)
	}
}

// assertNoLeftovers fails if a namespace of run survives.
func assertNoLeftovers(t *testing.T, run string) {
	t.Helper()
	entries, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "gml-"+run+"-") {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}
