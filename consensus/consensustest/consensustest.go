// Package consensustest helps test package consensus and its callers:
// Network, an in-memory Raft transport with partitions, for groups in
// testing/synctest bubbles (virtual time); NewHosts, real libp2p hosts on
// 127.0.0.1, for tests of the libp2p transport itself. It does not
// import consensus, so the package's internal tests may use it too.
package consensustest

import (
	"crypto/rand"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// pollInterval is how often WaitFor checks its condition. Why 5 ms: fine
// enough to time a ~300 ms failover to within a few percent, coarse
// enough to cost nothing next to the hosts under test.
const pollInterval = 5 * time.Millisecond

// NewHosts starts n libp2p hosts, each with a fresh Ed25519 identity and
// listening on a TCP port of 127.0.0.1 chosen by the kernel, and fills
// every host's peerstore with the others' addresses. They are closed when
// the test ends (closing one earlier is fine).
func NewHosts(t testing.TB, n int) []host.Host {
	t.Helper()
	hosts := make([]host.Host, n)
	for i := range hosts {
		priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatalf("host key: %v", err)
		}
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.Identity(priv))
		if err != nil {
			t.Fatalf("libp2p host: %v", err)
		}
		t.Cleanup(func() { _ = h.Close() })
		hosts[i] = h
	}
	Introduce(hosts...)
	return hosts
}

// Introduce adds every host's listen addresses to every other host's
// peerstore, for good.
func Introduce(hosts ...host.Host) {
	for _, a := range hosts {
		for _, b := range hosts {
			if a != b {
				a.Peerstore().AddAddrs(b.ID(), b.Addrs(), peerstore.PermanentAddrTTL)
			}
		}
	}
}

// WaitFor polls cond until it returns nil, and fails the test with cond's
// last error if that has not happened within timeout.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// Logger returns a logger that writes through t.Log, so a test's lines
// show only when it fails or runs with -v. Lines logged after the test
// ends (by goroutines still winding down) are dropped rather than
// panicking t.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex // guards done and serialises t.Log
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
