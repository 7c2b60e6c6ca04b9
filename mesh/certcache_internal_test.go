package mesh

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The cache verifies a certificate's signature once, and still refuses
// a copy altered in any signed field, one signed by another key, and one
// that has expired since it was first verified.
func TestCertCacheVerifiesOnceAndStillRefuses(t *testing.T) {
	cert, pub, now := signedCert(t)
	otherPub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var c certCache
	for i := range 3 {
		if err := c.verify(cert, pub, "n0", now); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if len(c.ok) != 1 {
		t.Errorf("%d certificates remembered, want 1", len(c.ok))
	}
	altered := cert
	altered.Home = "h2"
	if err := c.verify(altered, pub, "n0", now); !errors.Is(err, gridmesh.ErrBadSignature) {
		t.Errorf("altered certificate: %v, want a bad signature", err)
	}
	if err := c.verify(cert, otherPub, "n0", now); !errors.Is(err, gridmesh.ErrBadSignature) {
		t.Errorf("certificate under another key: %v, want a bad signature", err)
	}
	if err := c.verify(cert, pub, "n1", now); !errors.Is(err, gridmesh.ErrWrongNeighborhood) {
		t.Errorf("certificate for another neighborhood: %v", err)
	}
	if err := c.verify(cert, pub, "n0", now.Add(2*time.Hour)); !errors.Is(err, gridmesh.ErrMembershipExpired) {
		t.Errorf("expired certificate: %v, want expired", err)
	}
}

// BenchmarkCertVerify compares a certificate's full check (an ed25519
// signature) with the cache's check of one already verified.
func BenchmarkCertVerify(b *testing.B) {
	cert, pub, now := signedCert(b)
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if err := cert.Verify(pub, "n0", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		var c certCache
		b.ReportAllocs()
		for b.Loop() {
			if err := c.verify(cert, pub, "n0", now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// signedCert returns a certificate of n0 valid for an hour around now,
// signed with the returned key.
func signedCert(tb testing.TB) (gridmesh.Membership, ed25519.PublicKey, time.Time) {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.UnixMilli(1_780_000_000_000)
	cert := gridmesh.Membership{Version: gridmesh.WireVersion, Neighborhood: "n0", Peer: "12D3KooWPeer", Home: "h1",
		IssuedMs: now.UnixMilli() - 1000, ExpiresMs: now.Add(time.Hour).UnixMilli()}
	if err := cert.Sign(priv); err != nil {
		tb.Fatal(err)
	}
	return cert, pub, now
}
