// Package meshtest helps tests build real meshes on 127.0.0.1: hosts with
// fast timings, a fake LeaderView, an attacker with a bare gossipsub
// router, and waiting for a condition with a deadline.
package meshtest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// Timeout bounds every wait in these helpers: generous for a loaded
// 2-core machine running -race, and still a clear failure, not a hang.
const Timeout = 20 * time.Second

// pollInterval is how often Eventually re-checks its condition: short
// next to every wait it serves, long enough not to burn a shared core.
const pollInterval = 10 * time.Millisecond

// Config returns mesh.DefaultConfig with timings for tests: a 50 ms
// gossip heartbeat (meshes form and gossip repairs in a fraction of a
// second) and redials from 20 ms to 200 ms.
func Config() mesh.Config {
	cfg := mesh.DefaultConfig()
	cfg.Network = "test"
	cfg.GossipHeartbeat = 50 * time.Millisecond
	cfg.RedialMin = 20 * time.Millisecond
	cfg.RedialMax = 200 * time.Millisecond
	return cfg
}

// Open opens a mesh with a fresh ed25519 identity and closes it when the
// test ends. Its logger writes warnings and worse to the test log. opts
// go to mesh.Open (an in-memory network: mesh.WithTransport).
func Open(t testing.TB, cfg mesh.Config, opts ...mesh.Option) *mesh.Mesh {
	t.Helper()
	return OpenKey(t, cfg, NewKey(t), opts...)
}

// Run runs m.Run until the test ends, then checks that it returned nil.
func Run(t testing.TB, m *mesh.Mesh) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	// Registered after Open's cleanup, so it runs first: Run stops before
	// the mesh closes.
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(Timeout):
			t.Errorf("Run did not return %v after its context ended", Timeout)
		}
	})
}

// NewKey returns a fresh ed25519 identity.
func NewKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Logger returns a logger that writes warnings and errors to the test
// log until the test's cleanups have run, and drops them after: gossipsub's
// goroutines outlive Close and may still log.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop) // registered before the mesh's: runs after it closes
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex // guards done, and orders writes against stop
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

// Connect connects a to b and fails the test if it cannot.
func Connect(t testing.TB, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatalf("connect %s to %s: %v", a.ID(), b.ID(), err)
	}
}

// Eventually waits until cond holds, failing the test with what after
// Timeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", Timeout, what)
		}
		time.Sleep(pollInterval)
	}
}

// Leaders is a LeaderView a test sets by hand.
type Leaders struct {
	mu     sync.Mutex
	leader peer.ID
	term   uint64
}

var _ mesh.LeaderView = (*Leaders)(nil)

// NewLeaders returns a view naming leader in term.
func NewLeaders(leader peer.ID, term uint64) *Leaders {
	return &Leaders{leader: leader, term: term}
}

// Set changes the view.
func (l *Leaders) Set(leader peer.ID, term uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leader, l.term = leader, term
}

// Leader implements mesh.LeaderView.
func (l *Leaders) Leader() (peer.ID, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader, l.term
}

// Attacker is a peer with a bare gossipsub router: no gridmesh validators,
// so it publishes whatever bytes it likes, signed with its own key.
type Attacker struct {
	Host   host.Host
	PubSub *pubsub.PubSub

	mu     sync.Mutex
	topics map[string]*pubsub.Topic
}

// NewAttacker starts an attacker on 127.0.0.1 and stops it when the test
// ends; opts are more libp2p options for its host, such as a
// MemNetwork's Transport to attack homes in memory.
func NewAttacker(t testing.TB, opts ...libp2p.Option) *Attacker {
	t.Helper()
	h, err := libp2p.New(append([]libp2p.Option{
		libp2p.Identity(NewKey(t)),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.DisableRelay(),
		// Metrics off, and the event bus's (which go-libp2p registers
		// even so) in a registry nobody gathers, not the global one: as
		// mesh.Open does for a host given no registry.
		libp2p.PrometheusRegisterer(prometheus.NewRegistry()),
		libp2p.DisableMetrics(),
	}, opts...)...)
	if err != nil {
		t.Fatalf("attacker host: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
	if err != nil {
		cancel()
		h.Close()
		t.Fatalf("attacker gossipsub: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		h.Close()
	})
	return &Attacker{Host: h, PubSub: ps, topics: make(map[string]*pubsub.Topic)}
}

// Publish publishes data on topic, joining it (without subscribing) the
// first time, once victim is known to subscribe to it.
func (a *Attacker) Publish(t testing.TB, topic string, victim peer.ID, data []byte) {
	t.Helper()
	a.mu.Lock()
	tp, ok := a.topics[topic]
	if !ok {
		var err error
		if tp, err = a.PubSub.Join(topic); err != nil {
			a.mu.Unlock()
			t.Fatalf("attacker join %s: %v", topic, err)
		}
		a.topics[topic] = tp
	}
	a.mu.Unlock()
	Eventually(t, "the victim's subscription to reach the attacker", func() bool {
		return slices.Contains(tp.ListPeers(), victim)
	})
	if err := tp.Publish(t.Context(), data); err != nil {
		t.Fatalf("attacker publish: %v", err)
	}
}

// Present presents cert to victim on neighborhood nbhd's admission
// protocol: an attacker holding a certificate is a member gone bad (of
// victim's neighborhood) or a region peer (of another).
func (a *Attacker) Present(t testing.TB, victim peer.ID, nbhd gridmesh.NeighborhoodID, cert gridmesh.Membership) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	if err := mesh.Present(ctx, a.Host, victim, nbhd, cert); err != nil {
		t.Fatalf("attacker present: %v", err)
	}
}
