package meshtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// AdmissionTimeout is how long a test peer has to present its
// certificate: short, so a test sees a stranger refused within a second,
// yet ten times what presenting takes on a loaded 2-core machine under
// -race, so members are never refused.
const AdmissionTimeout = time.Second

// Neighborhood is a neighborhood's membership key pair.
type Neighborhood struct {
	ID   gridmesh.NeighborhoodID
	Pub  ed25519.PublicKey
	Priv ed25519.PrivateKey
}

// NewNeighborhood creates a fresh membership key for neighborhood id.
func NewNeighborhood(t testing.TB, id gridmesh.NeighborhoodID) *Neighborhood {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Neighborhood{ID: id, Pub: pub, Priv: priv}
}

// Certificate issues home a certificate bound to peer p, valid from an
// hour ago for a day.
func (n *Neighborhood) Certificate(t testing.TB, p peer.ID, home gridmesh.HomeID) gridmesh.Membership {
	t.Helper()
	now := time.Now()
	return n.CertificateFor(t, p, home, now.Add(-time.Hour), now.Add(23*time.Hour))
}

// CertificateFor issues home a certificate bound to peer p, valid over
// [from, until).
func (n *Neighborhood) CertificateFor(t testing.TB, p peer.ID, home gridmesh.HomeID, from, until time.Time) gridmesh.Membership {
	t.Helper()
	m := gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: n.ID, Peer: p.String(), Home: home,
		IssuedMs: from.UnixMilli(), ExpiresMs: until.UnixMilli(),
	}
	if err := m.Sign(n.Priv); err != nil {
		t.Fatal(err)
	}
	return m
}

// Admission returns an AdmissionConfig for the host with identity key,
// certified as home, with AdmissionTimeout.
func (n *Neighborhood) Admission(t testing.TB, key crypto.PrivKey, home gridmesh.HomeID) *mesh.AdmissionConfig {
	t.Helper()
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	a := mesh.DefaultAdmission(n.Pub, n.Certificate(t, id, home))
	a.Timeout = AdmissionTimeout
	return a
}

// OpenMember opens a mesh with a fresh identity, admission on and a
// certificate of this neighborhood as home, and closes it when the test
// ends.
func (n *Neighborhood) OpenMember(t testing.TB, cfg mesh.Config, home gridmesh.HomeID, opts ...mesh.Option) *mesh.Mesh {
	t.Helper()
	key := NewKey(t)
	cfg.Admission = n.Admission(t, key, home)
	return OpenKey(t, cfg, key, opts...)
}

// OpenKey is Open with the given identity.
func OpenKey(t testing.TB, cfg mesh.Config, key crypto.PrivKey, opts ...mesh.Option) *mesh.Mesh {
	t.Helper()
	m, err := mesh.Open(context.Background(), cfg, key, Logger(t), opts...)
	if err != nil {
		t.Fatalf("open mesh: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close mesh: %v", err)
		}
	})
	return m
}
