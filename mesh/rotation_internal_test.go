package mesh

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// A rotated neighborhood key: certificates of the new key admit until
// they expire; those of the previous key only within the stated overlap,
// and never past its end; any other key, never.
func TestAdmissionKeyRotation(t *testing.T) {
	key := func(b byte) ed25519.PrivateKey {
		return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	}
	oldKey, newKey, otherKey := key(1), key(2), key(3)
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := func(priv ed25519.PrivateKey) gridmesh.Membership {
		m := gridmesh.Membership{
			Version: gridmesh.WireVersion, Neighborhood: "feeder-12",
			Peer: "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf", Home: "home-0007",
			IssuedMs: issued.UnixMilli(), ExpiresMs: issued.AddDate(1, 0, 0).UnixMilli(),
		}
		if err := m.Sign(priv); err != nil {
			t.Fatal(err)
		}
		return m
	}
	overlapEnd := issued.AddDate(0, 1, 0)
	cfg := &AdmissionConfig{NeighborhoodKey: newKey.Public().(ed25519.PublicKey), Own: cert(newKey), Timeout: time.Second, BlockFor: time.Minute,
		PreviousKey: oldKey.Public().(ed25519.PublicKey), PreviousUntil: overlapEnd}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	within, after := issued.AddDate(0, 0, 7), overlapEnd.Add(time.Second)
	tests := []struct {
		name      string
		cert      gridmesh.Membership
		now       time.Time
		wantUntil time.Time // zero: refused
	}{
		{name: "the new key's certificate, within the overlap", cert: cert(newKey), now: within, wantUntil: cert(newKey).Expires()},
		{name: "the new key's certificate, after it", cert: cert(newKey), now: after, wantUntil: cert(newKey).Expires()},
		{name: "the previous key's, within the overlap: admitted until its end", cert: cert(oldKey), now: within, wantUntil: overlapEnd},
		{name: "the previous key's, after the overlap: refused", cert: cert(oldKey), now: after},
		{name: "another key's: refused", cert: cert(otherKey), now: within},
	}
	for _, tt := range tests {
		until, err := cfg.verify(tt.cert, "feeder-12", tt.now)
		switch {
		case tt.wantUntil.IsZero() && !errors.Is(err, gridmesh.ErrBadSignature):
			t.Errorf("%s: admitted until %v (err %v), want refused for its signature", tt.name, until, err)
		case !tt.wantUntil.IsZero() && (err != nil || !until.Equal(tt.wantUntil)):
			t.Errorf("%s: until %v, err %v; want until %v", tt.name, until, err, tt.wantUntil)
		}
	}
	if got := len(cfg.Keys(within)); got != 2 {
		t.Errorf("%d keys accepted within the overlap, want 2", got)
	}
	if got := cfg.Keys(after); len(got) != 1 || !got[0].Equal(cfg.NeighborhoodKey) {
		t.Errorf("keys after the overlap %v, want the new one alone", got)
	}
	bad := *cfg
	bad.PreviousUntil = time.Time{}
	if bad.Validate() == nil {
		t.Error("a previous key without an end to its overlap validated")
	}
}
