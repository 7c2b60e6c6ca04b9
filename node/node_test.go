package node_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

var (
	_ control.Battery = (*sim.Home)(nil)
	_ control.Meter   = (*sim.Home)(nil)
)

// testHome is one running home of a test neighborhood.
type testHome struct {
	n      *node.Node
	dev    *sim.Home
	cancel context.CancelFunc
	done   chan error
}

// simHome is the test homes' simulated devices: a 13.5 kWh, 5 kW
// battery at initialSoC, 4 kW of PV and a household load whose appliance
// events follow seed, on clock.
func simHome(tb testing.TB, seed uint64, initialSoC float64, clock func() time.Time) *sim.Home {
	tb.Helper()
	dev, err := sim.NewHome(sim.HomeParams{
		Battery:    sim.BatteryParams{CapacityWh: 13_500, MaxChargeW: 5000, MaxDischargeW: 5000, RoundTripEfficiency: 0.9},
		InitialSoC: initialSoC,
		PV:         sim.PVParams{PeakW: 4000, SunriseHour: 7, SunsetHour: 17},
		Load:       sim.LoadParams{BaseW: 400, EveningPeakW: 1200, Seed: seed},
	}, clock)
	if err != nil {
		tb.Fatal(err)
	}
	return dev
}

// testClock is the test homes' clock: a winter evening at 18:00, running
// from now at the speed of time.Now: real, or a synctest bubble's.
func testClock() func() time.Time {
	start := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	t0 := time.Now()
	return func() time.Time { return start.Add(time.Since(t0)) }
}

// stopOnCleanup stops every home in *homes when the test ends, all at
// once, and reports a home whose Run failed.
func stopOnCleanup(t testing.TB, homes *[]*testHome) {
	t.Cleanup(func() {
		for _, h := range *homes {
			h.cancel()
		}
		for _, h := range *homes {
			if err := <-h.done; err != nil {
				t.Errorf("home %s: %v", h.n.Home(), err)
			}
		}
	})
}

// fastConfig shortens the node's periods so tests see several plans a
// second; the ratios between them are the defaults'.
func fastConfig() node.Config {
	c := node.DefaultConfig()
	c.TelemetryPeriod = 200 * time.Millisecond
	c.PlanPeriod = 200 * time.Millisecond
	c.PlanLease = 600 * time.Millisecond
	c.TelemetryMaxAge = time.Second
	c.Formation = consensus.DefaultFormationConfig(c.TelemetryPeriod)
	c.Mesh.Network = "test"
	return c
}

// inBubble runs f in a synctest bubble (virtual time: the homes' timers
// and every wait of the test pass as fast as the CPU allows), in parallel
// with the package's other bubbles, and logs how much virtual time
// passed, in how much real time. A bubble shares nothing with another:
// its homes are on an in-memory network of its own, in directories of
// its own, and what it asserts does not depend on how fast it runs, so
// the tests run side by side and keep both cores busy.
func inBubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	t.Parallel()
	start := time.Now()
	var virtual time.Duration
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		defer func() { virtual = time.Since(t0) }()
		f(t)
	})
	t.Logf("%v of virtual time in %v", virtual, time.Since(start).Round(time.Millisecond))
}

// onMemory puts a home's host on mn, in memory: inside a synctest
// bubble the home then runs in virtual time.
func onMemory(mn *meshtest.MemNetwork) []mesh.Option {
	return []mesh.Option{mesh.WithTransport(mn.Transport())}
}

// startNeighborhood runs n homes of one neighborhood, the first voters of
// them voting, each dialing every home started before it, on mn (call it
// inside a synctest bubble: they run in virtual time) or, with mn nil,
// on TCP ports of 127.0.0.1 (a test that needs a real socket: the HTTP
// endpoint, a stranger's host).
// startNeighborhoodDeps starts one home on real sockets whose
// configuration and collaborators tweak may change.
func startNeighborhoodDeps(t *testing.T, tweak func(c *node.Config, d *node.Deps)) []*testHome {
	t.Helper()
	return startHomes(t, nil, 1, 1, func(_ int, c *node.Config, d *node.Deps) { tweak(c, d) })
}

func startNeighborhood(t testing.TB, mn *meshtest.MemNetwork, n, voters int, tweak func(i int, c *node.Config)) []*testHome {
	t.Helper()
	return startHomes(t, mn, n, voters, func(i int, c *node.Config, _ *node.Deps) {
		if tweak != nil {
			tweak(i, c)
		}
	})
}

func startHomes(t testing.TB, mn *meshtest.MemNetwork, n, voters int, tweak func(i int, c *node.Config, d *node.Deps)) []*testHome {
	t.Helper()
	keys := make([]crypto.PrivKey, n)
	var servers []consensus.Server
	for i := range keys {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
		id, _ := peer.IDFromPrivateKey(k)
		servers = append(servers, consensus.Server{ID: id.String(), Voter: i < voters})
	}
	clock := testClock()
	var homes []*testHome
	var boot []string
	stopOnCleanup(t, &homes)
	for i := range n {
		dev := simHome(t, uint64(i+1), 0.6, clock)
		cfg := fastConfig()
		cfg.Home = gridmesh.HomeID(fmt.Sprintf("h%d", i))
		cfg.Neighborhood = "nb"
		cfg.Raft.Servers = servers
		cfg.Mesh.Bootstrap = append([]string(nil), boot...)
		deps := node.Deps{Key: keys[i], Battery: dev, Meter: dev}
		if mn != nil {
			deps.Mesh = onMemory(mn)
		}
		tweak(i, &cfg, &deps)
		nd, err := node.New(cfg, deps)
		if err != nil {
			t.Fatal(err)
		}
		homes = append(homes, runReady(t, nd, dev))
		boot = append(boot, nd.P2PAddrs()...)
	}
	return homes
}

// runReady runs nd until the test's cleanup cancels it and waits until it
// is Ready.
func runReady(t testing.TB, nd *node.Node, dev *sim.Home) *testHome {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &testHome{n: nd, dev: dev, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- nd.Run(ctx) }()
	select {
	case <-nd.Ready():
	case err := <-h.done:
		t.Fatalf("home %s stopped: %v", nd.Home(), err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("home %s not ready", nd.Home())
	}
	return h
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// samePlanEverywhere reports whether every home follows one plan with
// the given target, and returns that plan's epoch.
func samePlanEverywhere(homes []*testHome, seq uint64) (gridmesh.Epoch, bool) {
	var e gridmesh.Epoch
	for i, h := range homes {
		s := h.n.Status()
		if !s.HasPlan || s.PlanTarget.Seq != seq || (i > 0 && s.PlanEpoch != e) {
			return e, false
		}
		e = s.PlanEpoch
	}
	return e, true
}

func TestNeighborhoodFollowsTargetAndSurvivesLeaderKill(t *testing.T) {
	inBubble(t, testNeighborhoodFollowsTargetAndSurvivesLeaderKill)
}

func testNeighborhoodFollowsTargetAndSurvivesLeaderKill(t *testing.T) {
	homes := startNeighborhood(t, meshtest.NewMemNetwork(), 4, 3, nil)
	target := gridmesh.Target{Seq: 1, ImportW: 800}
	for _, h := range homes {
		h.n.SetTarget(target)
	}

	// Every home, the non-voter included, follows one plan that carries
	// the target, and the homes' net setpoints add up to it.
	var epoch gridmesh.Epoch
	waitFor(t, "one plan with the target on every home, covering all four homes", 30*time.Second, func() bool {
		var ok bool
		epoch, ok = samePlanEverywhere(homes, 1)
		if !ok {
			return false
		}
		var sum gridmesh.W
		for _, h := range homes {
			sum += h.n.Status().AimNetW
		}
		return math.Abs(float64(sum-target.ImportW)) < 1
	})
	t.Logf("plan %v followed by every home", epoch)
	// Brief, the cheap view a city samples, says what Status says.
	leaders := 0
	for _, h := range homes {
		b, s := h.n.Brief(), h.n.Status()
		if b.HasPlan != s.HasPlan || b.EverPlanned != s.EverPlanned || b.PlanEpoch != s.PlanEpoch || b.IsLeader != s.IsLeader || b.Term != s.Term {
			t.Errorf("%s: brief %+v, status has_plan %v ever %v epoch %v leader %v term %d", s.Home, b, s.HasPlan, s.EverPlanned, s.PlanEpoch, s.IsLeader, s.Term)
		}
		if b.IsLeader {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d homes lead by their brief", leaders)
	}

	// The homes hold their setpoints: the metered sum tracks the target.
	var metered gridmesh.W
	for _, h := range homes {
		metered += h.dev.Snapshot().NetW
	}
	if math.Abs(float64(metered-target.ImportW)) > 0.05*float64(target.ImportW) {
		t.Errorf("metered feeder %v, target %v", metered, target.ImportW)
	}

	// Kill the leader hard; the survivors follow a plan of a higher term.
	var leader *testHome
	for _, h := range homes {
		if h.n.Status().IsLeader {
			leader = h
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	oldTerm := leader.n.Status().Term
	leader.cancel()
	var survivors []*testHome
	for _, h := range homes {
		if h != leader {
			survivors = append(survivors, h)
		}
	}
	waitFor(t, "the survivors to follow a plan of a new term", 30*time.Second, func() bool {
		e, ok := samePlanEverywhere(survivors, 1)
		return ok && e.Term > oldTerm
	})
	for _, h := range survivors {
		s := h.n.Status()
		if s.IsLeader && s.Home == leader.n.Home() {
			t.Fatalf("the killed home still leads")
		}
		if s.Counters["plans_invalid"] != 0 {
			t.Errorf("%s refused %d invalid plans", s.Home, s.Counters["plans_invalid"])
		}
	}
}

func TestStatusEndpointServesJSON(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	homes := startNeighborhood(t, nil, 1, 1, func(_ int, c *node.Config) { c.HTTPAddr = "127.0.0.1:0" })
	h := homes[0]
	h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 0})
	waitFor(t, "the status endpoint to listen and the home to plan", 20*time.Second, func() bool {
		return h.n.HTTPAddr() != "" && h.n.Status().HasPlan
	})
	resp, err := http.Get("http://" + h.n.HTTPAddr() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var s node.Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Home != "h0" || s.Neighborhood != "nb" || !s.IsLeader || !s.HasPlan || s.Mode != "plan" {
		t.Errorf("status = %+v", s)
	}
	if s.PeerID != h.n.PeerID().String() {
		t.Errorf("peer ID %q, want %q", s.PeerID, h.n.PeerID())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	dev, err := sim.NewHome(sim.HomeParams{
		Battery:    sim.BatteryParams{CapacityWh: 1000, MaxChargeW: 1000, MaxDischargeW: 1000, RoundTripEfficiency: 0.9},
		InitialSoC: 0.5,
		PV:         sim.PVParams{PeakW: 1000, SunriseHour: 7, SunsetHour: 17},
		Load:       sim.LoadParams{BaseW: 300, EveningPeakW: 800, Seed: 1},
	}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	good := fastConfig()
	good.Home, good.Neighborhood = "h", "nb"
	good.Raft.Servers = []consensus.Server{{ID: id.String(), Voter: true}}
	deps := node.Deps{Key: key, Battery: dev, Meter: dev}
	if _, err := node.New(good, deps); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
	for name, mutate := range map[string]func(*node.Config){
		"bad home id":          func(c *node.Config) { c.Home = "a b" },
		"no neighborhood":      func(c *node.Config) { c.Neighborhood = "" },
		"lease below period":   func(c *node.Config) { c.PlanLease = c.PlanPeriod },
		"zero loop period":     func(c *node.Config) { c.LoopPeriod = 0 },
		"home not among peers": func(c *node.Config) { c.Raft.Servers = []consensus.Server{{ID: "12D3KooWother", Voter: true}} },
	} {
		c := good
		mutate(&c)
		if _, err := node.New(c, deps); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := node.New(good, node.Deps{Battery: dev, Meter: dev}); err == nil {
		t.Error("no key: accepted")
	}
}

// The leader commits a summary of its island's forecast history; when it
// is killed, the new leader adopts it at once: its history reaches back
// to the old leader's first sample, before its own term began.
func TestNewLeaderKeepsTheIslandHistory(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		homes := startNeighborhood(t, meshtest.NewMemNetwork(), 3, 3, nil)
		for _, h := range homes {
			h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 500})
		}
		var leader *testHome
		waitFor(t, "a leader that committed a history summary", 30*time.Second, func() bool {
			for _, h := range homes {
				if s := h.n.Status(); s.IsLeader && s.Counters["history_summaries_committed"] > 0 {
					leader = h
					return true
				}
			}
			return false
		})
		s := leader.n.Status()
		from, oldTerm := s.IslandHistoryFromMs, s.Term
		if from == 0 {
			t.Fatal("the leader reports no island history")
		}
		leader.cancel()
		waitFor(t, "a new leader with the old leader's history", 30*time.Second, func() bool {
			for _, h := range homes {
				if h == leader {
					continue
				}
				if s := h.n.Status(); s.IsLeader && s.Term > oldTerm && s.IslandHistoryFromMs != 0 {
					if s.IslandHistoryFromMs != from {
						t.Fatalf("the new leader's history starts at %d, the old leader's at %d", s.IslandHistoryFromMs, from)
					}
					return true
				}
			}
			return false
		})
	})
}
