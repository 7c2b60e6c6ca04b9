package node_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/node"
)

// networkRestarts sums the restarts of the network's components.
func networkRestarts(s node.Status) uint64 {
	var sum uint64
	for name, c := range s.ComponentRestarts {
		if name != "http" {
			sum += c
		}
	}
	return sum
}

// getStatus fetches the status endpoint at addr.
func getStatus(addr string) (node.Status, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		return node.Status{}, err
	}
	defer resp.Body.Close()
	var s node.Status
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("status %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// safe reports whether the home's battery runs within its limits and the
// home either follows a plan or self-consumes.
func safe(s node.Status, dev *sim.Home) error {
	b := dev.Snapshot().BatteryW
	if math.Abs(float64(b)) > 5000+1 { // simHome's battery: 5 kW either way
		return fmt.Errorf("battery at %v W, beyond its 5 kW", b)
	}
	if s.Mode != "plan" && s.Mode != "autonomous" {
		return fmt.Errorf("mode %q", s.Mode)
	}
	return nil
}

// The device loop is supervised apart: when the status endpoint's
// listener or a network component fails after start, the loop keeps
// ticking and the devices keep safe setpoints; the failed part is
// counted and comes back: the endpoint serves again, the network
// reopens and the home follows its neighborhood's plans again.
func TestLoopOutlivesAFailedEndpointAndNetwork(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	// TCP: the endpoint is a real listener.
	homes := startNeighborhood(t, nil, 3, 3, func(i int, c *node.Config) {
		c.Raft.DataDir = t.TempDir() // the restarted network reopens the home's Raft log
		if i == 0 {
			c.HTTPAddr = "127.0.0.1:0"
		}
	})
	target := gridmesh.Target{Seq: 1, ImportW: 800}
	for _, h := range homes {
		h.n.SetTarget(target)
	}
	waitFor(t, "one plan on every home", 30*time.Second, func() bool {
		_, ok := samePlanEverywhere(homes, 1)
		return ok
	})
	h := homes[0]

	// watch waits for cond, checking at every poll that the home's loop
	// runs safely, and that it ticked at least 10 times meanwhile.
	watch := func(what string, cond func(node.Status) bool) {
		t.Helper()
		ticks := h.n.Status().Counters["loop_ticks"]
		waitFor(t, what, 30*time.Second, func() bool {
			s := h.n.Status()
			if err := safe(s, h.dev); err != nil {
				t.Fatalf("while waiting for %s: %v", what, err)
			}
			return s.Counters["loop_ticks"] >= ticks+10 && cond(s)
		})
	}

	// The endpoint's listener fails: the endpoint is restarted where it
	// was, and serves.
	addr := h.n.HTTPAddr()
	if !node.CloseHTTPListener(h.n) {
		t.Fatal("the status endpoint was not serving")
	}
	watch("the status endpoint to restart and serve", func(s node.Status) bool {
		if s.ComponentRestarts["http"] == 0 {
			return false
		}
		got, err := getStatus(h.n.HTTPAddr())
		return err == nil && got.Home == "h0"
	})
	if h.n.HTTPAddr() != addr {
		t.Errorf("the endpoint moved from %s to %s", addr, h.n.HTTPAddr())
	}
	if n := networkRestarts(h.n.Status()); n != 0 {
		t.Errorf("the endpoint's failure restarted the network %d times", n)
	}

	// The neighborhood's topics fail under the network's components: the
	// network restarts and the home follows the neighborhood's plan again,
	// a plan made after the failure.
	before := h.n.Status().PlanEpoch
	if !node.BreakTopics(h.n) {
		t.Fatal("the network was not up")
	}
	watch("the network to restart", func(s node.Status) bool { return networkRestarts(s) > 0 })
	defer func() {
		if t.Failed() {
			for _, h := range homes {
				t.Logf("%+v", h.n.Status())
			}
		}
	}()
	watch("the home to follow its neighborhood's plans again", func(node.Status) bool {
		e, ok := samePlanEverywhere(homes, 1)
		return ok && e.After(before)
	})
	s := h.n.Status()
	t.Logf("restarts %v; the home follows %v (was %v)", s.ComponentRestarts, s.PlanEpoch, before)
	if s.ComponentRestarts["http"] != 1 {
		t.Errorf("the network's failure restarted the endpoint: %d restarts", s.ComponentRestarts["http"])
	}
	if _, err := getStatus(h.n.HTTPAddr()); err != nil {
		t.Errorf("status endpoint after the network restart: %v", err)
	}
}

// newLoneHome returns a home that is its neighborhood's only voter, and
// its devices.
func newLoneHome(t *testing.T, tweak func(*node.Config)) (*node.Node, *sim.Home) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	dev := simHome(t, 1, 0.6, testClock())
	cfg := fastConfig()
	cfg.Home, cfg.Neighborhood = "h0", "nb"
	cfg.Raft.Servers = []consensus.Server{{ID: id.String(), Voter: true}}
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := node.New(cfg, node.Deps{Key: key, Battery: dev, Meter: dev})
	if err != nil {
		t.Fatal(err)
	}
	return n, dev
}

// A port another process holds is a configuration error: Run fails at
// once, naming the port, before any device is touched.
func TestRunFailsFastOnATakenPort(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	for name, tweak := range map[string]func(*node.Config){
		"status endpoint": func(c *node.Config) { c.HTTPAddr = held.Addr().String() },
		"mesh":            func(c *node.Config) { c.Mesh.ListenAddrs = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)} },
	} {
		t.Run(name, func(t *testing.T) {
			n, dev := newLoneHome(t, tweak)
			done := make(chan error, 1)
			go func() { done <- n.Run(context.Background()) }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run still runs with its port taken")
			}
			if err == nil || !strings.Contains(err.Error(), strconv.Itoa(port)) {
				t.Fatalf("Run: %v; want an error naming port %d", err, port)
			}
			s := n.Status()
			if s.Devices != nil || s.Counters["loop_ticks"] != 0 || dev.Snapshot().BatteryW != 0 {
				t.Errorf("devices touched: %+v, %d ticks, battery %v W", s.Devices, s.Counters["loop_ticks"], dev.Snapshot().BatteryW)
			}
		})
	}
}

// nodeGoroutines returns the stacks of goroutines running the node's
// code.
func nodeGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "gridmesh/gridmesh/node.") && !strings.Contains(g, "node_test.") {
			out = append(out, g)
		}
	}
	return out
}

// Run owns everything it starts: a home paused for an hour stops at
// once, and once Run has returned nothing of it runs, its pause
// included; Pause and Leave on a stopped home do nothing. A second Run
// returns an error, during the first and after it.
func TestRunOwnsItsPauseAndRunsOnce(t *testing.T) {
	// Not parallel: it counts the node's goroutines left after Run.
	n, dev := newLoneHome(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	h := runReady(t, n, dev)
	defer cancel()
	if err := n.Run(ctx); !errors.Is(err, node.ErrRunTwice) {
		t.Fatalf("a second Run during the first: %v, want ErrRunTwice", err)
	}
	n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 0})
	waitFor(t, "the home to lead and plan", 20*time.Second, func() bool {
		s := n.Status()
		return s.IsLeader && s.HasPlan
	})
	n.Pause(time.Hour)
	waitFor(t, "the pause to begin", 20*time.Second, func() bool { return n.Status().Counters["pauses"] == 1 })

	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a paused home did not stop")
	}
	if gs := nodeGoroutines(); len(gs) > 0 {
		t.Errorf("%d goroutines of the node run after Run returned:\n%s", len(gs), strings.Join(gs, "\n\n"))
	}
	n.Pause(time.Hour)
	if err := n.Leave(context.Background()); err != nil {
		t.Errorf("Leave after Run: %v", err)
	}
	if got := n.Status().Counters["pauses"]; got != 1 {
		t.Errorf("%d pauses after Run returned, want the one before", got)
	}
	if err := n.Run(context.Background()); !errors.Is(err, node.ErrRunTwice) {
		t.Fatalf("Run after Run: %v, want ErrRunTwice", err)
	}
}
