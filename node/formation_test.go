package node_test

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

// coldStarts is how many simultaneous cold starts TestColdStartFormsOneCluster
// runs: a few in `make test`, 100 in `make test-faults`.
var coldStarts = flag.Int("formation.coldstarts", 5, "simultaneous cold starts of five homes in TestColdStartFormsOneCluster")

// townLog sends every town home's log, info and up, to stderr: for
// diagnosing a formation failure.
var townLog = flag.Bool("town.log", false, "log every town home's info output to stderr")

// town is homes of one neighborhood with no configured voters, each on a
// port picked before any starts, so they can all start at one instant
// with each other's addresses as bootstrap peers. Its homes live on an
// in-memory network (call newTown inside a synctest bubble: they run in
// virtual time, with the product's timeouts), or on TCP after useTCP
// (benchmarks, which time the real thing).
type town struct {
	t      testing.TB
	mem    *meshtest.MemNetwork // nil: TCP
	keys   []crypto.PrivKey
	ids    []peer.ID
	ports  []int
	devs   []*sim.Home
	homes  []*testHome
	clock  func() time.Time
	target gridmesh.Target
	obs    node.Observer // every home's observer; nil for none
	dirs   []string      // Raft data directories, when durable
	// battery, when set, is home i's battery in place of its sim home.
	battery func(i int, h *sim.Home) control.Battery
	base    node.Config // every home's configuration; fastConfig by default
}

func newTown(t testing.TB, n int) *town {
	t.Helper()
	w := &town{t: t, mem: meshtest.NewMemNetwork(), clock: testClock(), target: gridmesh.Target{Seq: 1, ImportW: 800}}
	for i := range n {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(k)
		dev := simHome(t, uint64(i+1), 0.6, w.clock)
		w.keys, w.ids, w.devs = append(w.keys, k), append(w.ids, id), append(w.devs, dev)
		w.ports = append(w.ports, 4001+i) // the in-memory network is the town's alone
	}
	w.homes = make([]*testHome, n)
	w.base = fastConfig()
	t.Cleanup(w.stopAll)
	return w
}

// useTCP puts the town's homes on TCP ports of 127.0.0.1, before any
// starts.
func (w *town) useTCP() {
	w.mem = nil
	for i := range w.ports {
		w.ports[i] = freePort(w.t)
	}
}

// freePort returns a loopback TCP port free now, below the kernel's
// ephemeral range (32768 and up by default): no other test's ":0" listen
// or outgoing connection can take it before the home binds it.
func freePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		p := 1024 + mrand.IntN(32768-1024)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		return p
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

func (w *town) addr(i int) string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", w.ports[i], w.ids[i])
}

// start starts the homes in is at once, each dialing the homes boot(i)
// names, and waits until all are Ready.
func (w *town) start(is []int, boot func(i int) []int) {
	w.t.Helper()
	ctxs := make(map[int]context.Context, len(is))
	for _, i := range is {
		cfg := w.base
		cfg.Home = gridmesh.HomeID(fmt.Sprintf("h%d", i))
		cfg.Neighborhood = "nb"
		cfg.Mesh.ListenAddrs = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", w.ports[i])}
		if w.dirs != nil {
			cfg.Raft.DataDir = w.dirs[i]
		}
		for _, b := range boot(i) {
			cfg.Mesh.Bootstrap = append(cfg.Mesh.Bootstrap, w.addr(b))
		}
		deps := node.Deps{Key: w.keys[i], Battery: w.devs[i], Meter: w.devs[i], Now: w.clock, Observer: w.obs}
		if w.mem != nil {
			deps.Mesh = onMemory(w.mem)
		}
		if w.battery != nil {
			deps.Battery = w.battery(i, w.devs[i])
		}
		if *townLog {
			cfg.Raft.LogLevel = slog.LevelInfo
			deps.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("home", cfg.Home)
		}
		nd, err := node.New(cfg, deps)
		if err != nil {
			w.t.Fatal(err)
		}
		nd.SetTarget(w.target)
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i] = ctx
		w.homes[i] = &testHome{n: nd, dev: w.devs[i], cancel: cancel, done: make(chan error, 1)}
	}
	for _, i := range is {
		h, ctx := w.homes[i], ctxs[i]
		go func() { h.done <- h.n.Run(ctx) }()
	}
	for _, i := range is {
		select {
		case <-w.homes[i].n.Ready():
		case err := <-w.homes[i].done:
			w.t.Fatalf("home %d stopped: %v", i, err)
		case <-time.After(20 * time.Second):
			w.t.Fatalf("home %d not ready", i)
		}
	}
}

// stop stops home i hard and waits for its Run to return.
func (w *town) stop(i int) {
	h := w.homes[i]
	if h == nil {
		return
	}
	w.homes[i] = nil
	h.cancel()
	if err := <-h.done; err != nil {
		w.t.Errorf("home %d: %v", i, err)
	}
}

func (w *town) stopAll() {
	for i := range w.homes {
		w.stop(i)
	}
}

func (w *town) live() []*testHome {
	var out []*testHome
	for _, h := range w.homes {
		if h != nil {
			out = append(out, h)
		}
	}
	return out
}

// settled reports whether every live home names one cluster, follows a
// plan of it and counts the given number of voters, and returns the name.
func (w *town) settled(voters int) (string, error) {
	hs := w.live()
	// The configuration holds the voters and the standbys; every other
	// home follows plans outside it.
	members := len(hs)
	if sb := w.base.Formation.Standbys; sb >= 0 {
		members = min(members, voters+sb)
	}
	name := ""
	for k, h := range hs {
		s := h.n.Status()
		cluster := s.Cluster
		if cluster == "" && s.Beaconed {
			cluster = s.Joining // outside the configuration, without state
		}
		inConfig := s.RaftVoters == voters && s.RaftMembers == members
		switch {
		case cluster == "":
			return "", fmt.Errorf("%s names no cluster", s.Home)
		case k > 0 && cluster != name:
			return "", fmt.Errorf("%s is in cluster %s, others in %s", s.Home, cluster, name)
		case !s.HasPlan:
			return "", fmt.Errorf("%s follows no plan", s.Home)
		case !inConfig && (!s.Beaconed || s.IsLeader):
			return "", fmt.Errorf("%s sees %d voters of %d members and no beacon, want %d of %d", s.Home, s.RaftVoters, s.RaftMembers, voters, members)
		}
		name = cluster
	}
	return name, nil
}

func (w *town) await(what string, d time.Duration, voters int) string {
	w.t.Helper()
	var name string
	var last error
	deadline := time.Now().Add(d)
	for {
		if name, last = w.settled(voters); last == nil {
			return name
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not settled within %v: %v\n%s", what, d, last, w.describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// describe is every live home's view, a line each, for a failure
// message.
func (w *town) describe() string {
	var b strings.Builder
	for _, h := range w.live() {
		s := h.n.Status()
		rejected := map[string]uint64{}
		for k, v := range s.Rejections {
			if v > 0 {
				rejected[k] = v
			}
		}
		fmt.Fprintf(&b, "%s %s cluster=%q joining=%q voter=%v leader=%v term=%d voters=%d/%d plan=%v epoch=%v merges=%d other-cluster streams=%d rejections=%v\n",
			s.Home, s.PeerID, s.Cluster, s.Joining, s.Voter, s.IsLeader, s.Term, s.RaftVoters, s.RaftMembers,
			s.HasPlan, s.PlanEpoch, s.Counters["cluster_merges"], s.Counters["raft_streams_other_cluster"], rejected)
	}
	return b.String()
}

func (w *town) sumCounter(name string) uint64 {
	var sum uint64
	for _, h := range w.live() {
		sum += h.n.Status().Counters[name]
	}
	return sum
}

// Five homes with no configured voters and no state start at the same
// instant, knowing only one or two others: exactly one founds a cluster,
// every time; it grows to all five, three voting, and all follow its
// plans.
func TestColdStartFormsOneCluster(t *testing.T) { inBubble(t, testColdStartFormsOneCluster) }

func testColdStartFormsOneCluster(t *testing.T) {
	for run := range *coldStarts {
		w := newTown(t, 5)
		t0 := time.Now()
		all := []int{0, 1, 2, 3, 4}
		// Home 0 is everyone's bootstrap peer; each also knows its
		// predecessor. Gossip tells them of the rest.
		w.start(all, func(i int) []int {
			if i == 0 {
				return []int{4}
			}
			return []int{0, i - 1}
		})
		w.await(fmt.Sprintf("cold start %d", run), 30*time.Second, 3)
		t.Logf("cold start %d: one cluster of five homes after %v", run, time.Since(t0))
		if f := w.sumCounter("clusters_founded"); f != 1 {
			t.Fatalf("cold start %d: %d clusters founded, want 1", run, f)
		}
		if m := w.sumCounter("cluster_merges"); m != 0 {
			t.Fatalf("cold start %d: %d merges; a cold start must form one cluster outright", run, m)
		}
		w.stopAll()
	}
}

// Eight homes: the cluster grows to five voters. Two voters killed, the
// leader among them: a new leader is elected from the three left (a
// quorum of five), the silent voters are replaced, and every survivor
// follows the new leader's plans with five voters again.
func TestVotersGrowAndAreReplaced(t *testing.T) { inBubble(t, testVotersGrowAndAreReplaced) }

func testVotersGrowAndAreReplaced(t *testing.T) {
	w := newTown(t, 8)
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	w.start(all, func(i int) []int {
		if i == 0 {
			return []int{7}
		}
		return []int{0, i - 1}
	})
	w.await("eight homes", 30*time.Second, 5)
	var victims []int
	for i, h := range w.homes {
		if s := h.n.Status(); s.IsLeader {
			victims = append(victims, i)
		}
	}
	for i, h := range w.homes {
		if s := h.n.Status(); s.Voter && !s.IsLeader && len(victims) < 2 {
			victims = append(victims, i)
		}
	}
	if len(victims) != 2 {
		t.Fatalf("victims %v: want the leader and one other voter", victims)
	}
	for _, i := range victims {
		w.stop(i)
	}
	// Six homes left: at or above LargeAt-1, the neighborhood keeps five
	// voters (hysteresis), two promoted in place of the dead.
	w.await("after killing two voters", 30*time.Second, 5)
	if p := w.sumCounter("voters_promoted"); p < 2 {
		t.Fatalf("%d promotions counted by the live homes, want at least the 2 replacements", p)
	}
}

// Two halves of a neighborhood that cannot reach each other each found a
// cluster. A home that bridges them arrives: every home of the cluster
// whose name sorts last wipes its state and joins the other, and all
// seven follow one cluster's plans.
func TestPartitionedClustersMerge(t *testing.T) { inBubble(t, testPartitionedClustersMerge) }

func testPartitionedClustersMerge(t *testing.T) {
	w := newTown(t, 7)
	w.start([]int{0, 1, 2}, func(i int) []int { return without([]int{0, 1, 2}, i) })
	w.start([]int{3, 4, 5}, func(i int) []int { return without([]int{3, 4, 5}, i) })
	var names []string
	for _, half := range [][]int{{0, 1, 2}, {3, 4, 5}} {
		var name string
		waitFor(t, "a cluster in each half", 30*time.Second, func() bool {
			name = w.homes[half[0]].n.Status().Cluster
			for _, i := range half {
				if s := w.homes[i].n.Status(); s.Cluster == "" || s.Cluster != name || !s.HasPlan {
					return false
				}
			}
			return true
		})
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Fatalf("both halves name cluster %s", names[0])
	}
	w.start([]int{6}, func(int) []int { return []int{0, 3} })
	got := w.await("merge", 30*time.Second, 5) // seven homes: five voters
	if want := slices.Min(names); got != want {
		t.Fatalf("merged into %s, want %s (the name that sorts first)", got, want)
	}
	// Every home of the losing half wiped its state, once: a wiped home
	// asks for the winner, so the losing leader cannot add it back. The
	// bridge may have wiped too, if the losing leader added it before it
	// heard the winner.
	m := w.sumCounter("cluster_merges")
	if m < 3 || m > 4 {
		t.Fatalf("%d wipes counted, want the 3 of the losing half and at most the bridge besides\n%s", m, w.describe())
	}
	t.Logf("%d wipes to merge, %d Raft streams refused as another cluster's", m, w.sumCounter("raft_streams_other_cluster"))
}

// Every home of a formed neighborhood is stopped hard and started again
// at once with its key and Raft data: they resume their cluster (same
// name, no new founding) and follow its plans.
func TestEveryHomeRestartsIntoItsCluster(t *testing.T) {
	inBubble(t, testEveryHomeRestartsIntoItsCluster)
}

func testEveryHomeRestartsIntoItsCluster(t *testing.T) {
	w := newTown(t, 5)
	for range w.keys {
		w.dirs = append(w.dirs, t.TempDir())
	}
	all := []int{0, 1, 2, 3, 4}
	boot := func(i int) []int { return without(all, i) }
	w.start(all, boot)
	name := w.await("first start", 30*time.Second, 3)
	w.stopAll()
	w.start(all, boot)
	if got := w.await("restart", 30*time.Second, 3); got != name {
		t.Fatalf("restarted into cluster %s, was %s", got, name)
	}
	if f := w.sumCounter("clusters_founded"); f != 0 {
		t.Fatalf("%d clusters founded after the restart; the homes had state", f)
	}
}

// A durable home away long enough to be removed from the configuration
// comes back from its data directory, before any snapshot, with no
// cluster name applied: a leader adds back only homes that name its
// cluster, so the home must learn the name from its own log (applied up
// to a commit index a leader sends) or, failing that, wipe its state as
// orphaned and ask to join. Either way it is a member again.
func TestRemovedHomeRejoinsAfterRestart(t *testing.T) {
	inBubble(t, testRemovedHomeRejoinsAfterRestart)
}

func testRemovedHomeRejoinsAfterRestart(t *testing.T) {
	w := newTown(t, 4)
	for range w.keys {
		w.dirs = append(w.dirs, t.TempDir())
	}
	all := []int{0, 1, 2, 3}
	boot := func(i int) []int { return without(all, i) }
	w.start(all, boot)
	name := w.await("first start", 30*time.Second, 3)
	away := -1
	for i, h := range w.homes {
		if !h.n.Status().Voter {
			away = i
		}
	}
	if away < 0 {
		t.Fatal("no non-voter among four homes")
	}
	w.stop(away)
	waitFor(t, "the silent home removed", 3*w.base.Formation.RemoveAfter, func() bool {
		for _, h := range w.live() {
			if s := h.n.Status(); s.IsLeader {
				return s.RaftMembers == 3
			}
		}
		return false
	})
	w.start([]int{away}, boot)
	if got := w.await("the removed home back", 30*time.Second, 3); got != name {
		t.Fatalf("settled in cluster %s, was %s", got, name)
	}
	t.Logf("the returning home wiped its state %d times", w.homes[away].n.Status().Counters["cluster_merges"])
}

// A voter whose battery stops answering is still a live home: it keeps
// reporting (without a reading), so it is not replaced as silent, and
// the leader stops planning with it until its battery answers again.
func TestVoterWithFailedBatteryKeepsItsVote(t *testing.T) {
	inBubble(t, testVoterWithFailedBatteryKeepsItsVote)
}

func testVoterWithFailedBatteryKeepsItsVote(t *testing.T) {
	w := newTown(t, 4)
	stalled := make([]*stallHome, 4)
	w.battery = func(i int, h *sim.Home) control.Battery {
		stalled[i] = &stallHome{h: h}
		t.Cleanup(stalled[i].release)
		return stalled[i]
	}
	all := []int{0, 1, 2, 3}
	w.start(all, func(i int) []int { return without(all, i) })
	w.await("four homes", 30*time.Second, 3)
	victim := -1
	for i, h := range w.homes {
		if s := h.n.Status(); s.Voter && !s.IsLeader {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatal("no voter that does not lead")
	}
	id := w.homes[victim].n.Status().PeerID
	stalled[victim].hang()
	waitFor(t, "the stalled home's loop to lose its battery", 10*time.Second, func() bool {
		return !w.homes[victim].n.Status().Devices["battery"].Available
	})
	// Three times as long as a silent voter is given before it is
	// replaced: the stalled home is not silent.
	time.Sleep(3 * w.base.Formation.ReplaceAfter)
	for i, h := range w.homes {
		s := h.n.Status()
		if !s.IsLeader {
			continue
		}
		if s.Counters["voters_promoted"] != 0 || s.Counters["voters_removed"] != 0 {
			t.Errorf("leader h%d promoted %d and removed %d voters while a voter's battery was stalled", i,
				s.Counters["voters_promoted"], s.Counters["voters_removed"])
		}
	}
	if s := w.homes[victim].n.Status(); !s.Voter || s.Counters["reports_without_reading"] == 0 {
		t.Fatalf("the stalled home %s: voter %v after %d reports without a reading", id, s.Voter, s.Counters["reports_without_reading"])
	}
	stalled[victim].release()
	w.await("the battery back", 30*time.Second, 3)
}

// stallHome is a sim home's battery that stops answering on hang.
type stallHome struct {
	stall
	h *sim.Home
}

func (s *stallHome) Battery() (gridmesh.Flexibility, error) { s.wait(); return s.h.Battery() }

func (s *stallHome) SetBatteryPower(w gridmesh.W) error { s.wait(); return s.h.SetBatteryPower(w) }

// BenchmarkColdStart times five homes started at one instant with no
// state until every one applies a plan of the cluster they found.
// Reports the p50 and max over b.N cold starts.
func BenchmarkColdStart(b *testing.B) {
	var took []float64
	for range b.N {
		took = append(took, coldStartOnce(b))
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2], "p50-ms")
	b.ReportMetric(took[len(took)-1], "max-ms")
}

// coldStartOnce starts five homes at once, with the default timings, and
// returns the milliseconds until every one follows a plan.
func coldStartOnce(tb testing.TB) float64 {
	w := newTown(tb, 5)
	w.useTCP()
	w.base = node.DefaultConfig()
	w.base.Mesh.Network = "test"
	defer w.stopAll()
	all := []int{0, 1, 2, 3, 4}
	t0 := time.Now()
	w.start(all, func(i int) []int {
		if i == 0 {
			return []int{4}
		}
		return []int{0, i - 1}
	})
	deadline := t0.Add(30 * time.Second)
	for {
		planned := 0
		for _, h := range w.live() {
			if h.n.Status().HasPlan {
				planned++
			}
		}
		if planned == len(all) {
			return float64(time.Since(t0).Microseconds()) / 1000
		}
		if time.Now().After(deadline) {
			tb.Fatalf("cold start: %d of %d homes follow a plan after 30 s", planned, len(all))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func without(is []int, i int) []int {
	return slices.DeleteFunc(slices.Clone(is), func(k int) bool { return k == i })
}
