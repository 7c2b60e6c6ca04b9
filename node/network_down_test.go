package node_test

import (
	"context"
	"crypto/rand"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/node"
)

// The device loop never waits on the network: a home whose network
// cannot even open keeps its devices on self-consumption, and joins once
// the network can open.
func TestLoopRunsWhileTheNetworkCannotOpen(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	// Put a file where the home's Raft data directory should be: the
	// network cannot open until it is gone.
	dataDir := filepath.Join(t.TempDir(), "raft")
	if err := os.WriteFile(dataDir, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}

	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	dev := simHome(t, 3, 0.6, func() time.Time { return time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC) })
	cfg := fastConfig()
	cfg.Home, cfg.Neighborhood = "h0", "nb"
	cfg.Raft.DataDir = dataDir
	cfg.Raft.Servers = []consensus.Server{{ID: id.String(), Voter: true}}
	n, err := node.New(cfg, node.Deps{Key: key, Battery: dev, Meter: dev})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	waitFor(t, "a failed network open while the loop self-consumes", 20*time.Second, func() bool {
		s := n.Status()
		m, _ := dev.Meter()
		return s.Counters["network_open_failures"] > 0 && s.Counters["loop_ticks"] > 5 &&
			s.Mode == "autonomous" && math.Abs(float64(m.NetW)) < 1
	})
	select {
	case <-n.Ready():
		t.Fatal("ready while its data directory is blocked")
	default:
	}

	// Clear the way: the network opens on a later try and the home leads
	// itself.
	if err := os.Remove(dataDir); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("the network never opened after the data directory was freed")
	}
	waitFor(t, "the home to lead itself", 20*time.Second, func() bool { return n.Status().IsLeader })
}
