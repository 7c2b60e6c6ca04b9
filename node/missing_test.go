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

	"github.com/gridmesh/gridmesh/node"
)

// countingHome is a simulated home whose battery counts write requests,
// as a Modbus driver does.
type countingHome struct {
	*releasingHome
	writes atomic.Uint64
}

func (h *countingHome) Writes() uint64 { return h.writes.Load() }

// A home runs without the kinds its devices lack and says so in its
// status and metrics; a driver's write count shows beside its device.
func TestStatusShowsMissingKindsAndWrites(t *testing.T) {
	t.Parallel() // real clocks: runs beside the bubbles
	dataDir := filepath.Join(t.TempDir(), "raft")
	if err := os.WriteFile(dataDir, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err) // no network needed: the home runs its loop on its own
	}
	dev := &countingHome{releasingHome: &releasingHome{Home: simHome(t, 3, 0.6, func() time.Time { return time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC) })}}
	dev.writes.Store(7)
	missing := []node.MissingKind{{Device: "inverter", Kind: "pv", Reason: "no pv: it needs a limit"}}
	cfg := fastConfig()
	cfg.Home, cfg.Neighborhood = "h0", "nb"
	cfg.Raft.DataDir = dataDir
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, node.Deps{Key: key, Battery: dev, Meter: dev,
		MissingKinds: func() []node.MissingKind { return missing }})
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
	waitFor(t, "the battery's status", 20*time.Second, func() bool {
		_, ok := n.Status().Devices["battery"]
		return ok
	})
	s := n.Status()
	if len(s.MissingKinds) != 1 || s.MissingKinds[0] != missing[0] {
		t.Errorf("status missing kinds %+v, want %+v", s.MissingKinds, missing)
	}
	if w := s.Devices["battery"].Writes; w == nil || *w != 7 {
		t.Errorf("battery writes %v, want 7", w)
	}
	if w := s.Devices["meter"].Writes; w == nil || *w != 7 {
		t.Errorf("meter writes %v, want the same device's 7", w)
	}
	if v, ok := value(t, n.Metrics(), "gridmesh_device_kinds_missing"); !ok || v != 1 {
		t.Errorf("gridmesh_device_kinds_missing = %v (present %v), want 1", v, ok)
	}
	if v, ok := value(t, n.Metrics(), "gridmesh_device_writes_total", "device", "battery"); !ok || v != 7 {
		t.Errorf("gridmesh_device_writes_total{device=battery} = %v (present %v), want 7", v, ok)
	}
}
