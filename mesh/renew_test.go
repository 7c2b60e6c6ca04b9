package mesh_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// A home renews its certificate without a restart: its neighbors extend
// its admission past the old certificate's expiry, while a neighbor
// whose certificate expired unrenewed is no longer admitted. A renewal
// for another peer or home, or signed by another key, is refused and
// changes nothing.
func TestRenewedCertificateKeepsAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nb := meshtest.NewNeighborhood(t, nbhd)
		inMemory := mesh.WithTransport(meshtest.NewMemNetwork().Transport())
		shortLived := func(home gridmesh.HomeID) (*mesh.Mesh, crypto.PrivKey, peer.ID) {
			key := meshtest.NewKey(t)
			id, err := peer.IDFromPrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			cfg := meshtest.Config()
			now := time.Now()
			cfg.Admission = mesh.DefaultAdmission(nb.Pub, nb.CertificateFor(t, id, home, now.Add(-time.Minute), now.Add(time.Hour)))
			cfg.Admission.Timeout = meshtest.AdmissionTimeout
			return meshtest.OpenKey(t, cfg, key, inMemory), key, id
		}
		renewed, _, renewedID := shortLived("h1")
		lapsed, _, _ := shortLived("h3")
		b := nb.OpenMember(t, meshtest.Config(), "h2", inMemory)
		for _, m := range []*mesh.Mesh{renewed, lapsed, b} {
			meshtest.Run(t, m)
		}
		meshtest.Connect(t, renewed.Host(), b.Host())
		meshtest.Connect(t, lapsed.Host(), b.Host())
		meshtest.Eventually(t, "b to admit both", func() bool { return b.Admitted(renewed.ID()) && b.Admitted(lapsed.ID()) })

		time.Sleep(30 * time.Minute)
		now := time.Now()
		ctx := context.Background()
		other := meshtest.NewNeighborhood(t, nbhd)
		for name, bad := range map[string]gridmesh.Membership{
			"another peer's":  nb.CertificateFor(t, b.ID(), "h1", now, now.Add(24*time.Hour)),
			"another home's":  nb.CertificateFor(t, renewedID, "h9", now, now.Add(24*time.Hour)),
			"another key's":   other.CertificateFor(t, renewedID, "h1", now, now.Add(24*time.Hour)),
			"already expired": nb.CertificateFor(t, renewedID, "h1", now.Add(-2*time.Hour), now.Add(-time.Hour)),
		} {
			if err := renewed.RenewCertificate(ctx, bad); err == nil {
				t.Errorf("renewal with %s certificate taken", name)
			}
		}
		if err := renewed.RenewCertificate(ctx, nb.CertificateFor(t, renewedID, "h1", now, now.Add(24*time.Hour))); err != nil {
			t.Fatalf("RenewCertificate: %v", err)
		}

		time.Sleep(45 * time.Minute) // past the first certificates' expiry
		if !b.Admitted(renewed.ID()) {
			t.Error("the renewed home is no longer admitted after its old certificate expired")
		}
		if b.Admitted(lapsed.ID()) {
			t.Error("the home whose certificate lapsed is still admitted")
		}
	})
}
