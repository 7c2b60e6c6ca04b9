package gridmesh_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/gridmesh/gridmesh"
)

func signedRevocation(t testing.TB) gridmesh.Revocation {
	t.Helper()
	r := gridmesh.Revocation{
		Version: gridmesh.WireVersion, Neighborhood: "feeder-1",
		Peer: "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf", IssuedMs: sigNow.UnixMilli(),
	}
	_, priv := membershipKey()
	if err := r.Sign(priv); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRevocationSignVerifyRoundTrip(t *testing.T) {
	pub, _ := membershipKey()
	r := signedRevocation(t)
	b, err := r.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := gridmesh.ParseRevocation(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Peer != r.Peer || got.Neighborhood != r.Neighborhood || got.IssuedMs != r.IssuedMs || !bytes.Equal(got.Signature, r.Signature) {
		t.Fatalf("round trip: got %+v, want %+v", got, r)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := got.Verify("feeder-1", other, pub); err != nil {
		t.Fatalf("verify against the old and the new key: %v", err)
	}
}

func TestRevocationVerifyRefuses(t *testing.T) {
	pub, _ := membershipKey()
	other, _, _ := ed25519.GenerateKey(nil)
	for name, tc := range map[string]struct {
		edit func(*gridmesh.Revocation)
		nbhd gridmesh.NeighborhoodID
		keys []ed25519.PublicKey
		want error
	}{
		"another neighborhood":   {func(*gridmesh.Revocation) {}, "feeder-2", []ed25519.PublicKey{pub}, gridmesh.ErrWrongNeighborhood},
		"another key":            {func(*gridmesh.Revocation) {}, "feeder-1", []ed25519.PublicKey{other}, gridmesh.ErrBadSignature},
		"no key":                 {func(*gridmesh.Revocation) {}, "feeder-1", nil, gridmesh.ErrBadSignature},
		"peer swapped":           {func(r *gridmesh.Revocation) { r.Peer = "12D3KooWother" }, "feeder-1", []ed25519.PublicKey{pub}, gridmesh.ErrBadSignature},
		"time moved":             {func(r *gridmesh.Revocation) { r.IssuedMs++ }, "feeder-1", []ed25519.PublicKey{pub}, gridmesh.ErrBadSignature},
		"signature cut":          {func(r *gridmesh.Revocation) { r.Signature = r.Signature[:10] }, "feeder-1", []ed25519.PublicKey{pub}, gridmesh.ErrBadSignature},
		"wrong version":          {func(r *gridmesh.Revocation) { r.Version = 9 }, "feeder-1", []ed25519.PublicKey{pub}, gridmesh.ErrInvalid},
		"issued before 1970":     {func(r *gridmesh.Revocation) { r.IssuedMs = 0 }, "feeder-1", []ed25519.PublicKey{pub}, gridmesh.ErrInvalid},
		"peer not an identifier": {func(r *gridmesh.Revocation) { r.Peer = "a b" }, "feeder-1", []ed25519.PublicKey{pub}, gridmesh.ErrInvalid},
	} {
		r := signedRevocation(t)
		tc.edit(&r)
		if err := r.Verify(tc.nbhd, tc.keys...); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func TestParseRevocationRefusesTrailingAndShortBytes(t *testing.T) {
	b, err := signedRevocation(t).AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"empty":          nil,
		"one byte more":  append(bytes.Clone(b), 0),
		"one byte less":  b[:len(b)-1],
		"header only":    b[:11],
		"length too big": append(append(bytes.Clone(b[:10]), 200), b[11:]...),
	} {
		if _, err := gridmesh.ParseRevocation(in); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzParseRevocation(f *testing.F) {
	b, err := signedRevocation(f).AppendBinary(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := gridmesh.ParseRevocation(in)
		if err != nil {
			return
		}
		out, err := r.AppendBinary(nil)
		if err != nil {
			t.Fatalf("parsed revocation does not encode: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", in, out)
		}
	})
}
