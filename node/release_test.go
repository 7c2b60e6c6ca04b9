package node_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/node"
)

// releasingHome is a simulated home whose battery records being handed
// back to its own control, as the SunSpec and MQTT drivers do.
type releasingHome struct {
	*sim.Home
	released atomic.Int32
}

func (h *releasingHome) Release(context.Context) error {
	h.released.Add(1)
	return nil
}

// A home that stops releases what it steers before Run returns: nothing
// steers its battery after the node is gone.
func TestStoppedHomeReleasesItsDevices(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	// No network is needed: the Raft data directory is blocked, so the
	// home runs its loop on its own.
	dataDir := filepath.Join(t.TempDir(), "raft")
	if err := os.WriteFile(dataDir, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dev := &releasingHome{Home: simHome(t, 3, 0.6, func() time.Time { return time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC) })}
	cfg := fastConfig()
	cfg.Home, cfg.Neighborhood = "h0", "nb"
	cfg.Raft.DataDir = dataDir
	n, err := node.New(cfg, node.Deps{Key: key, Battery: dev, Meter: dev})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	waitFor(t, "the loop steering the battery", 20*time.Second, func() bool {
		return n.Status().Counters["loop_ticks"] > 5
	})
	if got := dev.released.Load(); got != 0 {
		t.Fatalf("released %d times while running", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := dev.released.Load(); got != 1 {
		t.Fatalf("battery released %d times by the time Run returned, want 1", got)
	}
}
