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

var sigNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// operatorKey is a fixed key, so that signatures are reproducible.
func operatorKey() (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func validSignal() gridmesh.Signal {
	return gridmesh.Signal{
		Version: gridmesh.WireVersion, ID: "dr-42", Kind: gridmesh.SignalCutImport, Region: "north",
		StartMs: sigNow.UnixMilli(), EndMs: sigNow.Add(time.Hour).UnixMilli(), AmountW: 250_000, Seq: 9,
	}
}

func signed(t testing.TB) gridmesh.Signal {
	t.Helper()
	s := validSignal()
	_, priv := operatorKey()
	if err := s.Sign(priv); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignalSignVerify(t *testing.T) {
	pub, _ := operatorKey()
	s := signed(t)
	if len(s.Signature) != ed25519.SignatureSize {
		t.Fatalf("signature of %d bytes", len(s.Signature))
	}
	for name, now := range map[string]time.Time{
		"at its start":        sigNow,
		"half way through":    sigNow.Add(30 * time.Minute),
		"just before its end": sigNow.Add(time.Hour - time.Millisecond),
		"an hour ahead":       sigNow.Add(-time.Hour),
		"48 h ahead":          sigNow.Add(-48 * time.Hour),
		"in another zone":     sigNow.In(time.FixedZone("east", 5*3600)),
	} {
		if err := s.Verify(pub, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSignalVerifyRefuses(t *testing.T) {
	pub, _ := operatorKey()
	otherPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	forged := validSignal()
	if err := forged.Sign(otherPriv); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    func() gridmesh.Signal
		pub  ed25519.PublicKey
		now  time.Time
		want error
	}{
		{"unsigned", validSignal, pub, sigNow, gridmesh.ErrBadSignature},
		{"another key", func() gridmesh.Signal { return forged }, pub, sigNow, gridmesh.ErrBadSignature},
		{"short signature", func() gridmesh.Signal { s := signed(t); s.Signature = s.Signature[:10]; return s }, pub, sigNow, gridmesh.ErrBadSignature},
		{"flipped bit", func() gridmesh.Signal { s := signed(t); s.Signature[3] ^= 1; return s }, pub, sigNow, gridmesh.ErrBadSignature},
		{"tampered amount", func() gridmesh.Signal { s := signed(t); s.AmountW *= 2; return s }, pub, sigNow, gridmesh.ErrBadSignature},
		{"tampered seq (replay with a new number)", func() gridmesh.Signal { s := signed(t); s.Seq++; return s }, pub, sigNow, gridmesh.ErrBadSignature},
		{"no operator key", func() gridmesh.Signal { return signed(t) }, nil, sigNow, gridmesh.ErrBadSignature},
		{"at its end", func() gridmesh.Signal { return signed(t) }, pub, sigNow.Add(time.Hour), gridmesh.ErrSignalExpired},
		{"long over", func() gridmesh.Signal { return signed(t) }, pub, sigNow.Add(48 * time.Hour), gridmesh.ErrSignalExpired},
		{"too far ahead", func() gridmesh.Signal { return signed(t) }, pub, sigNow.Add(-48*time.Hour - time.Millisecond), gridmesh.ErrSignalTooEarly},
		{"expired and forged counts as expired", func() gridmesh.Signal { return forged }, pub, sigNow.Add(2 * time.Hour), gridmesh.ErrSignalExpired},
		{"invalid and signed", func() gridmesh.Signal { s := signed(t); s.Version = 9; return s }, pub, sigNow, gridmesh.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s().Verify(tt.pub, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignalValidate(t *testing.T) {
	if err := validSignal().Validate(); err != nil {
		t.Fatalf("valid signal refused: %v", err)
	}
	for name, mutate := range map[string]func(*gridmesh.Signal){
		"version":            func(s *gridmesh.Signal) { s.Version = 0 },
		"empty id":           func(s *gridmesh.Signal) { s.ID = "" },
		"long id":            func(s *gridmesh.Signal) { s.ID = strings.Repeat("x", gridmesh.MaxIDLen+1) },
		"region with slash":  func(s *gridmesh.Signal) { s.Region = "a/b" },
		"kind 0":             func(s *gridmesh.Signal) { s.Kind = 0 },
		"kind 4":             func(s *gridmesh.Signal) { s.Kind = 4 },
		"warning with value": func(s *gridmesh.Signal) { s.Kind, s.Value = gridmesh.SignalOutageWarning, 0.5 },
		"empty window":       func(s *gridmesh.Signal) { s.EndMs = s.StartMs },
		"reversed window":    func(s *gridmesh.Signal) { s.EndMs = s.StartMs - 1 },
		"start at 0":         func(s *gridmesh.Signal) { s.StartMs = 0 },
		"window over a day":  func(s *gridmesh.Signal) { s.EndMs = s.StartMs + gridmesh.MaxSignalDurationMs + 1 },
		"zero regulation":    func(s *gridmesh.Signal) { s.Kind, s.AmountW = gridmesh.SignalRegulation, 0 },
		"negative amount":    func(s *gridmesh.Signal) { s.AmountW = -1 },
		"nan amount":         func(s *gridmesh.Signal) { s.AmountW = gridmesh.W(math.NaN()) },
		"infinite amount":    func(s *gridmesh.Signal) { s.AmountW = gridmesh.W(math.Inf(1)) },
		"beyond any grid":    func(s *gridmesh.Signal) { s.AmountW = 2 * gridmesh.MaxRegionPowerW },
		"max int64 end time": func(s *gridmesh.Signal) { s.EndMs = math.MaxInt64 },
	} {
		s := validSignal()
		mutate(&s)
		if err := s.Validate(); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
		_, priv := operatorKey()
		if err := s.Sign(priv); !errors.Is(err, gridmesh.ErrInvalid) || s.Signature != nil {
			t.Errorf("%s: Sign = %v, signature %x; want ErrInvalid and none", name, err, s.Signature)
		}
	}
	withdrawal := validSignal()
	withdrawal.AmountW = 0
	if err := withdrawal.Validate(); err != nil {
		t.Errorf("a cut step of zero (a withdrawal) refused: %v", err)
	}
	warning := validSignal()
	warning.Kind = gridmesh.SignalOutageWarning
	if err := warning.Validate(); err != nil {
		t.Errorf("an outage warning refused: %v", err)
	}
	warning.AmountW = 0
	if err := warning.Validate(); err != nil {
		t.Errorf("a warning step of zero (a withdrawal) refused: %v", err)
	}
	s := validSignal()
	if err := s.Sign(ed25519.PrivateKey{1, 2, 3}); err == nil || s.Signature != nil {
		t.Errorf("Sign with a short key = %v", err)
	}
}

// The signing bytes are a contract with every operator tool that signs:
// they must not change by accident.
func TestSignalSigningBytesGolden(t *testing.T) {
	got := hex.EncodeToString(validSignal().SigningBytes())
	const want = "677269646d6573682f7369676e616c00" + // "gridmesh/signal\0"
		"0001" + "00000005" + "64722d3432" + // version 1, "dr-42"
		"01" + "00000005" + "6e6f727468" + // cut-import, "north"
		"0000019e830e1a00" + "0000019e83450880" + // start, end (ms)
		"410e848000000000" + "0000000000000009" // 250 kW, seq 9
	if got != want {
		t.Fatalf("SigningBytes = %s\n                want %s", got, want)
	}
}

// Length prefixes keep field boundaries: moving a byte from one string to
// the next changes the bytes signed.
func TestSignalSigningBytesUnambiguous(t *testing.T) {
	a, b := validSignal(), validSignal()
	a.ID, a.Region = "ab", "c"
	b.ID, b.Region = "a", "bc"
	if bytes.Equal(a.SigningBytes(), b.SigningBytes()) {
		t.Fatal("different ID/Region splits sign the same bytes")
	}
	c := validSignal()
	c.Signature = []byte("anything")
	if !bytes.Equal(c.SigningBytes(), validSignal().SigningBytes()) {
		t.Fatal("the signature is part of the signed bytes")
	}
}

// TestSignalTamperProperty changes one signed field of a signed signal at
// random: Verify always refuses it, with ErrBadSignature when the change
// keeps the signal valid and in time.
func TestSignalTamperProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	pub, _ := operatorKey()
	orig := signed(t)
	for i := range 2_000 {
		s := orig
		s.Signature = bytes.Clone(orig.Signature)
		switch rng.IntN(8) {
		case 0:
			s.ID += "x"
		case 1:
			s.Region = "south"
		case 2:
			s.Kind = gridmesh.SignalRegulation
		case 3:
			s.StartMs -= 1 + rng.Int64N(1_000_000)
		case 4:
			s.EndMs -= 1 + rng.Int64N(1_000_000)
		case 5:
			s.AmountW = gridmesh.W(1 + rng.Float64()*1e6)
		case 6:
			s.Seq = rng.Uint64()
			if s.Seq == orig.Seq {
				s.Seq++
			}
		case 7:
			s.Signature[rng.IntN(len(s.Signature))] ^= byte(1 + rng.IntN(255))
		}
		err := s.Verify(pub, sigNow)
		if err == nil {
			t.Fatalf("seed %d iter %d: tampered signal %+v verified", seed, i, s)
		}
		if s.Validate() == nil && s.EndMs > sigNow.UnixMilli() && !errors.Is(err, gridmesh.ErrBadSignature) {
			t.Fatalf("seed %d iter %d: %v, want ErrBadSignature", seed, i, err)
		}
	}
}

func TestSignalKindString(t *testing.T) {
	for k, want := range map[gridmesh.SignalKind]string{1: "cut-import", 2: "regulation", 3: "outage-warning", 0: "SignalKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", k, got, want)
		}
	}
}

// FuzzSignalVerify: any field values, any key, any time: Verify never
// panics, and accepts only what Sign produced.
func FuzzSignalVerify(f *testing.F) {
	s := validSignal()
	f.Add(s.ID, uint8(s.Kind), s.Region, s.StartMs, s.EndMs, float64(s.AmountW), s.Seq, []byte(nil), sigNow.UnixMilli())
	f.Add("x", uint8(2), "r", int64(1), int64(2), 1e300, uint64(0), make([]byte, 64), int64(0))
	pub, _ := operatorKey()
	f.Fuzz(func(t *testing.T, id string, kind uint8, region string, start, end int64, amount float64, seq uint64, sig []byte, nowMs int64) {
		s := gridmesh.Signal{Version: gridmesh.WireVersion, ID: id, Kind: gridmesh.SignalKind(kind), Region: region,
			StartMs: start, EndMs: end, AmountW: gridmesh.W(amount), Seq: seq, Signature: sig}
		if err := s.Verify(pub, time.UnixMilli(nowMs)); err == nil {
			t.Fatalf("unsigned fuzzed signal verified: %+v", s)
		}
	})
}
