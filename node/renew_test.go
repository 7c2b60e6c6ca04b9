package node_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

// A home takes a certificate written over its certificate file without a
// restart, and presents it from then on; a file that does not hold a
// certificate of its own is logged and changes nothing.
func TestCertificateRenewedFromItsFile(t *testing.T) { inBubble(t, testCertificateRenewedFromItsFile) }

func testCertificateRenewedFromItsFile(t *testing.T) {
	mn := meshtest.NewMemNetwork()
	nb, homes := startAdmittedNeighborhood(t, mn, 3, 3)
	h := homes[0].n
	before, ok := node.Presented(h)
	if !ok {
		t.Fatal("the home's network is not up")
	}
	path := filepath.Join(t.TempDir(), "membership.cert")
	write := func(other bool) {
		t.Helper()
		now := time.Now()
		id := h.PeerID()
		if other {
			id = homes[1].n.PeerID()
		}
		if err := node.WriteMembership(path, nb.CertificateFor(t, id, before.Home, now, now.Add(48*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	write(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.WatchCertificate(ctx, path) }()

	// Another peer's certificate: refused, nothing changes.
	time.Sleep(time.Second)
	write(true)
	time.Sleep(2 * time.Minute)
	if got, _ := node.Presented(h); got.ExpiresMs != before.ExpiresMs {
		t.Fatalf("another peer's certificate was taken: presents one expiring %v", got.Expires())
	}
	// The home's renewed certificate: taken within a check period.
	write(false)
	time.Sleep(2 * time.Minute)
	got, _ := node.Presented(h)
	if !got.Expires().After(before.Expires()) {
		t.Fatalf("presents a certificate expiring %v, not the renewed one (the old expired %v)", got.Expires(), before.Expires())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("WatchCertificate: %v", err)
	}
}
