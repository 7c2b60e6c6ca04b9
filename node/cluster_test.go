package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

// cluster is a neighborhood whose homes can be stopped hard and started
// again with the same key, devices and Raft DataDir, as a home's process
// is after kill -9. Every home is asked for the same target and reports
// the plans it applies to one recorder.
type cluster struct {
	tb     testing.TB
	mem    *meshtest.MemNetwork // nil: TCP (useTCP)
	base   node.Config
	clock  func() time.Time
	target gridmesh.Target
	rec    *planRecorder

	keys    []crypto.PrivKey
	servers []consensus.Server
	devs    []*sim.Home
	dirs    []string        // Raft DataDirs; "" when not durable
	logs    []*syncBuffer   // each home's log across its restarts
	homes   []*testHome     // nil while the home is stopped
	started []time.Duration // how long each start took to be Ready
}

// newCluster prepares n homes, the first voters of them voting (none
// configured when voters is 0: they found their cluster themselves), each with
// a Raft DataDir of its own when durable, on an in-memory network: call
// it inside a synctest bubble, where they run in virtual time, or call
// useTCP before starting any. It starts none of them.
func newCluster(tb testing.TB, n, voters int, base node.Config, durable bool) *cluster {
	tb.Helper()
	c := &cluster{
		tb:     tb,
		mem:    meshtest.NewMemNetwork(),
		base:   base,
		clock:  testClock(),
		target: gridmesh.Target{Seq: 1, ImportW: 800},
		rec:    newPlanRecorder(),
		homes:  make([]*testHome, n),
	}
	for i := range n {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(k)
		c.keys = append(c.keys, k)
		if voters > 0 { // none: the neighborhood organizes itself
			c.servers = append(c.servers, consensus.Server{ID: id.String(), Voter: i < voters})
		}
		c.devs = append(c.devs, simHome(tb, uint64(i+1), 0.6, c.clock))
		dir := ""
		if durable {
			dir = tb.TempDir()
		}
		c.dirs = append(c.dirs, dir)
		c.logs = append(c.logs, &syncBuffer{})
	}
	tb.Cleanup(func() {
		for i, h := range c.homes {
			if h != nil {
				c.stop(i)
			}
		}
	})
	return c
}

// useTCP puts the homes on TCP ports of 127.0.0.1: for benchmarks, which
// time the real thing.
func (c *cluster) useTCP() { c.mem = nil }

// start runs home i, dialing every live home, and waits until it is
// Ready.
func (c *cluster) start(i int) {
	c.tb.Helper()
	if c.homes[i] != nil {
		c.tb.Fatalf("home %d already runs", i)
	}
	cfg := c.base
	cfg.Home = gridmesh.HomeID(fmt.Sprintf("h%d", i))
	cfg.Neighborhood = "nb"
	cfg.Raft.Servers = c.servers
	cfg.Raft.DataDir = c.dirs[i]
	cfg.Mesh.Bootstrap = nil
	for _, h := range c.homes {
		if h != nil {
			cfg.Mesh.Bootstrap = append(cfg.Mesh.Bootstrap, h.n.P2PAddrs()...)
		}
	}
	log := slog.New(slog.NewTextHandler(c.logs[i], &slog.HandlerOptions{Level: slog.LevelInfo}))
	deps := node.Deps{
		Key: c.keys[i], Battery: c.devs[i], Meter: c.devs[i],
		Logger: log, Observer: c.rec, Now: c.clock,
	}
	if c.mem != nil {
		deps.Mesh = onMemory(c.mem)
	}
	nd, err := node.New(cfg, deps)
	if err != nil {
		c.tb.Fatal(err)
	}
	nd.SetTarget(c.target)
	ctx, cancel := context.WithCancel(context.Background())
	h := &testHome{n: nd, dev: c.devs[i], cancel: cancel, done: make(chan error, 1)}
	t0 := time.Now()
	go func() { h.done <- nd.Run(ctx) }()
	select {
	case <-nd.Ready():
	case err := <-h.done:
		c.tb.Fatalf("home %d stopped: %v", i, err)
	case <-time.After(20 * time.Second):
		c.tb.Fatalf("home %d not ready", i)
	}
	c.started = append(c.started, time.Since(t0))
	c.homes[i] = h
}

// stop stops home i hard (its Run's context ends; raft says no goodbye)
// and waits until Run has returned, so its DataDir is free again.
func (c *cluster) stop(i int) {
	c.tb.Helper()
	h := c.homes[i]
	c.homes[i] = nil
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			c.tb.Errorf("home %d: %v", i, err)
		}
	case <-time.After(30 * time.Second):
		c.tb.Fatalf("home %d did not stop", i)
	}
}

// live returns the running homes and their indexes.
func (c *cluster) live() ([]*testHome, []int) {
	var hs []*testHome
	var is []int
	for i, h := range c.homes {
		if h != nil {
			hs, is = append(hs, h), append(is, i)
		}
	}
	return hs, is
}

// leader returns the index of the live home that leads, once exactly one
// does.
func (c *cluster) leader(d time.Duration) int {
	c.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		lead := -1
		n := 0
		for i, h := range c.homes {
			if h != nil && h.n.Status().IsLeader {
				lead, n = i, n+1
			}
		}
		if n == 1 {
			return lead
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("no single leader within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failover is what the survivors of a leader's exit saw.
type failover struct {
	took time.Duration // exit → the last survivor applies a newer term's plan
	term uint64        // the newest term the survivors then follow
	lost []string      // survivors whose plan lease ran out meanwhile
}

// awaitFailover waits, from exitAt on the cluster's clock, until every
// live home has applied a plan of a term above oldTerm, watching that no
// home that ever followed a plan is left without one meanwhile.
func (c *cluster) awaitFailover(exitAt time.Time, oldTerm uint64, d time.Duration) failover {
	c.tb.Helper()
	hs, is := c.live()
	lost := map[string]bool{}
	deadline := time.Now().Add(d)
	for {
		for _, h := range hs {
			if s := h.n.Status(); s.EverPlanned && !s.HasPlan {
				lost[string(s.Home)] = true
			}
		}
		var f failover
		done := true
		for _, i := range is {
			at, term, ok := c.rec.firstAfter(fmt.Sprintf("h%d", i), oldTerm)
			if !ok {
				done = false
				break
			}
			f.took, f.term = max(f.took, at.Sub(exitAt)), max(f.term, term)
		}
		if done {
			for h := range lost {
				f.lost = append(f.lost, h)
			}
			return f
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("survivors %v did not all apply a plan above term %d within %v", is, oldTerm, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// awaitFollowing waits until every live home follows a plan of term or
// newer, the same one, and home i's Raft log holds at least had.
func (c *cluster) awaitFollowing(i int, term uint64, had gridmesh.Epoch, d time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		hs, _ := c.live()
		var e gridmesh.Epoch
		ok := true
		for k, h := range hs {
			s := h.n.Status()
			if !s.HasPlan || s.PlanEpoch.Term < term || (k > 0 && s.PlanEpoch != e) {
				ok = false
				break
			}
			e = s.PlanEpoch
		}
		if ok {
			if s := c.homes[i].n.Status(); s.CommittedEpoch == had || s.CommittedEpoch.After(had) {
				return
			}
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("home %d not following term %d with its log at %v or newer within %v: %+v",
				i, term, had, d, c.homes[i].n.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventually polls cond until it holds or d has passed; waitFor for
// benchmarks too.
func eventually(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// planRecorder is a node.Observer that keeps, per home, when it first
// applied a plan of each term. Its mutex guards terms.
type planRecorder struct {
	mu    sync.Mutex
	terms map[string]map[uint64]time.Time
}

var _ node.Observer = (*planRecorder)(nil)

func newPlanRecorder() *planRecorder {
	return &planRecorder{terms: make(map[string]map[uint64]time.Time)}
}

func (r *planRecorder) PlanApplied(home gridmesh.HomeID, _ gridmesh.NeighborhoodID, e gridmesh.Epoch, _ gridmesh.Target, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.terms[string(home)]
	if m == nil {
		m = make(map[uint64]time.Time)
		r.terms[string(home)] = m
	}
	if _, ok := m[e.Term]; !ok {
		m[e.Term] = at
	}
}

// firstAfter returns when home first applied a plan of a term above term,
// and the lowest such term.
func (r *planRecorder) firstAfter(home string, term uint64) (time.Time, uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var at time.Time
	var first uint64
	for t, a := range r.terms[home] {
		if t > term && (first == 0 || t < first) {
			at, first = a, t
		}
	}
	return at, first, first != 0
}

// first returns when home first applied any plan.
func (r *planRecorder) first(home string) (time.Time, bool) {
	at, _, ok := r.firstAfter(home, 0)
	return at, ok
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
