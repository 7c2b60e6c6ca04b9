package gridmesh_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// membershipKey is a fixed neighborhood key, so that signatures are
// reproducible.
func membershipKey() (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func validMembership() gridmesh.Membership {
	return gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: "feeder-1",
		Peer: "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf", Home: "h7",
		IssuedMs: sigNow.UnixMilli(), ExpiresMs: sigNow.Add(365 * 24 * time.Hour).UnixMilli(),
	}
}

func signedMembership(t testing.TB) gridmesh.Membership {
	t.Helper()
	m := validMembership()
	_, priv := membershipKey()
	if err := m.Sign(priv); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMembershipSignVerify(t *testing.T) {
	pub, _ := membershipKey()
	m := signedMembership(t)
	for name, now := range map[string]time.Time{
		"at issue":                    sigNow,
		"a month on":                  sigNow.Add(30 * 24 * time.Hour),
		"just before it expires":      m.Expires().Add(-time.Millisecond),
		"issuer's clock a bit ahead":  sigNow.Add(-gridmesh.MembershipClockSkew),
		"in another zone":             sigNow.In(time.FixedZone("east", 5*3600)),
		"issuer's clock 1 s ahead":    sigNow.Add(-time.Second),
		"a minute before it was made": sigNow.Add(-time.Minute),
	} {
		if err := m.Verify(pub, "feeder-1", now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMembershipVerifyRefuses(t *testing.T) {
	pub, _ := membershipKey()
	otherPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	forged := validMembership()
	if err := forged.Sign(otherPriv); err != nil {
		t.Fatal(err)
	}
	// Another neighborhood's key holder issues a certificate for its own
	// neighborhood: valid there, not here.
	elsewhere := validMembership()
	elsewhere.Neighborhood = "feeder-2"
	if err := elsewhere.Sign(otherPriv); err != nil {
		t.Fatal(err)
	}
	tamper := func(f func(*gridmesh.Membership)) func() gridmesh.Membership {
		return func() gridmesh.Membership { m := signedMembership(t); f(&m); return m }
	}
	tests := []struct {
		name string
		m    func() gridmesh.Membership
		pub  ed25519.PublicKey
		nbhd gridmesh.NeighborhoodID
		now  time.Time
		want error
	}{
		{"unsigned", validMembership, pub, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"another key", func() gridmesh.Membership { return forged }, pub, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"short signature", tamper(func(m *gridmesh.Membership) { m.Signature = m.Signature[:10] }), pub, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"flipped bit", tamper(func(m *gridmesh.Membership) { m.Signature[3] ^= 1 }), pub, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"another peer", tamper(func(m *gridmesh.Membership) { m.Peer = "12D3KooWAnother" }), pub, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"another home", tamper(func(m *gridmesh.Membership) { m.Home = "h8" }), pub, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"extended", tamper(func(m *gridmesh.Membership) { m.ExpiresMs += 1 }), pub, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"no key", func() gridmesh.Membership { return signedMembership(t) }, nil, "feeder-1", sigNow, gridmesh.ErrBadSignature},
		{"asked about another neighborhood", func() gridmesh.Membership { return signedMembership(t) }, pub, "feeder-2", sigNow, gridmesh.ErrWrongNeighborhood},
		{"moved to another neighborhood", tamper(func(m *gridmesh.Membership) { m.Neighborhood = "feeder-2" }), pub, "feeder-1", sigNow, gridmesh.ErrWrongNeighborhood},
		{"another neighborhood's certificate", func() gridmesh.Membership { return elsewhere }, pub, "feeder-1", sigNow, gridmesh.ErrWrongNeighborhood},
		{"at expiry", func() gridmesh.Membership { return signedMembership(t) }, pub, "feeder-1", signedMembership(t).Expires(), gridmesh.ErrMembershipExpired},
		{"long expired", func() gridmesh.Membership { return signedMembership(t) }, pub, "feeder-1", sigNow.Add(10 * 365 * 24 * time.Hour), gridmesh.ErrMembershipExpired},
		{"too early", func() gridmesh.Membership { return signedMembership(t) }, pub, "feeder-1", sigNow.Add(-gridmesh.MembershipClockSkew - time.Millisecond), gridmesh.ErrMembershipNotYetValid},
		{"expired and forged counts as expired", func() gridmesh.Membership { return forged }, pub, "feeder-1", sigNow.Add(2 * 365 * 24 * time.Hour), gridmesh.ErrMembershipExpired},
		{"invalid and signed", tamper(func(m *gridmesh.Membership) { m.Version = 9 }), pub, "feeder-1", sigNow, gridmesh.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.m().Verify(tt.pub, tt.nbhd, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMembershipValidate(t *testing.T) {
	if err := validMembership().Validate(); err != nil {
		t.Fatalf("valid membership refused: %v", err)
	}
	for name, mutate := range map[string]func(*gridmesh.Membership){
		"version":             func(m *gridmesh.Membership) { m.Version = 0 },
		"no neighborhood":     func(m *gridmesh.Membership) { m.Neighborhood = "" },
		"neighborhood/slash":  func(m *gridmesh.Membership) { m.Neighborhood = "a/b" },
		"no peer":             func(m *gridmesh.Membership) { m.Peer = "" },
		"long peer":           func(m *gridmesh.Membership) { m.Peer = strings.Repeat("Q", gridmesh.MaxIDLen+1) },
		"peer with a space":   func(m *gridmesh.Membership) { m.Peer = "12D3 KooW" },
		"no home":             func(m *gridmesh.Membership) { m.Home = "" },
		"empty window":        func(m *gridmesh.Membership) { m.ExpiresMs = m.IssuedMs },
		"reversed window":     func(m *gridmesh.Membership) { m.ExpiresMs = m.IssuedMs - 1 },
		"issued at 0":         func(m *gridmesh.Membership) { m.IssuedMs = 0 },
		"issued before 1970":  func(m *gridmesh.Membership) { m.IssuedMs = math.MinInt64 },
		"expires before 1970": func(m *gridmesh.Membership) { m.ExpiresMs = -1 },
	} {
		m := validMembership()
		mutate(&m)
		if err := m.Validate(); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
		_, priv := membershipKey()
		if err := m.Sign(priv); !errors.Is(err, gridmesh.ErrInvalid) || m.Signature != nil {
			t.Errorf("%s: Sign = %v, signature %x; want ErrInvalid and none", name, err, m.Signature)
		}
	}
	m := validMembership()
	if err := m.Sign(ed25519.PrivateKey{1, 2, 3}); err == nil || m.Signature != nil {
		t.Errorf("Sign with a short key = %v", err)
	}
}

// The signing bytes are a contract with every tool that issues
// certificates: they must not change by accident.
func TestMembershipSigningBytesGolden(t *testing.T) {
	m := validMembership()
	m.Peer = "P1"
	got := hex.EncodeToString(m.SigningBytes())
	const want = "677269646d6573682f6d656d6265727368697000" + // "gridmesh/membership\0"
		"0001" + // version 1
		"00000008" + "6665656465722d31" + // "feeder-1"
		"00000002" + "5031" + // "P1"
		"00000002" + "6837" + // "h7"
		"0000019e830e1a00" + "000001a5dabf4600" // issued, expires (ms)
	if got != want {
		t.Fatalf("SigningBytes = %s\n                want %s", got, want)
	}
}

// Length prefixes keep field boundaries: moving a byte from one string to
// the next changes the bytes signed.
func TestMembershipSigningBytesUnambiguous(t *testing.T) {
	a, b := validMembership(), validMembership()
	a.Peer, a.Home = "ab", "c"
	b.Peer, b.Home = "a", "bc"
	if bytes.Equal(a.SigningBytes(), b.SigningBytes()) {
		t.Fatal("different Peer/Home splits sign the same bytes")
	}
	c := validMembership()
	c.Signature = []byte("anything")
	if !bytes.Equal(c.SigningBytes(), validMembership().SigningBytes()) {
		t.Fatal("the signature is part of the signed bytes")
	}
	// A signal and a certificate never sign the same bytes.
	if bytes.HasPrefix(validSignal().SigningBytes(), []byte("gridmesh/membership")) {
		t.Fatal("signal and membership share a domain")
	}
}

// TestMembershipTamperProperty changes one signed field of a signed
// certificate at random: Verify always refuses it, with ErrBadSignature
// when the change keeps it valid, for this neighborhood and in time.
func TestMembershipTamperProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	pub, _ := membershipKey()
	orig := signedMembership(t)
	for i := range 2_000 {
		m := orig
		m.Signature = bytes.Clone(orig.Signature)
		switch rng.IntN(6) {
		case 0:
			m.Peer += "x"
		case 1:
			m.Home = gridmesh.HomeID("h" + string(rune('a'+rng.IntN(26))))
		case 2:
			m.IssuedMs -= 1 + rng.Int64N(1_000_000)
		case 3:
			m.ExpiresMs += 1 + rng.Int64N(1_000_000)
		case 4:
			m.Neighborhood = "feeder-9"
		case 5:
			m.Signature[rng.IntN(len(m.Signature))] ^= byte(1 + rng.IntN(255))
		}
		err := m.Verify(pub, "feeder-1", sigNow)
		if err == nil {
			t.Fatalf("seed %d iter %d: tampered certificate %+v verified", seed, i, m)
		}
		if m.Validate() == nil && m.Neighborhood == "feeder-1" && !errors.Is(err, gridmesh.ErrBadSignature) {
			t.Fatalf("seed %d iter %d: %v, want ErrBadSignature", seed, i, err)
		}
	}
}

// FuzzMembershipVerify: any field values, any neighborhood, any time:
// Verify never panics, and accepts only what Sign produced.
func FuzzMembershipVerify(f *testing.F) {
	m := validMembership()
	f.Add(uint16(m.Version), string(m.Neighborhood), m.Peer, string(m.Home), m.IssuedMs, m.ExpiresMs, []byte(nil), "feeder-1", sigNow.UnixMilli())
	f.Add(uint16(1), "n", "p", "h", int64(1), int64(math.MaxInt64), make([]byte, 64), "n", int64(0))
	f.Add(uint16(1), "n", "p", "h", int64(math.MaxInt64-1), int64(math.MaxInt64), make([]byte, 64), "n", int64(math.MinInt64))
	pub, _ := membershipKey()
	f.Fuzz(func(t *testing.T, version uint16, nbhd, peer, home string, issued, expires int64, sig []byte, asked string, nowMs int64) {
		m := gridmesh.Membership{Version: version, Neighborhood: gridmesh.NeighborhoodID(nbhd), Peer: peer,
			Home: gridmesh.HomeID(home), IssuedMs: issued, ExpiresMs: expires, Signature: sig}
		if err := m.Verify(pub, gridmesh.NeighborhoodID(asked), time.UnixMilli(nowMs)); err == nil {
			t.Fatalf("unsigned fuzzed certificate verified: %+v", m)
		}
	})
}
