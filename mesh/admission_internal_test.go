package mesh

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

func sampleMembership(t testing.TB) gridmesh.Membership {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	m := gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: "feeder-12",
		Peer: "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf", Home: "home-0007",
		IssuedMs: 1_764_000_000_000, ExpiresMs: 1_795_536_000_000,
	}
	if err := m.Sign(priv); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMembershipRoundTrip(t *testing.T) {
	want := sampleMembership(t)
	b, err := EncodeMembership(want)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxMembershipBytes/2 {
		t.Errorf("a certificate takes %d bytes: MaxMembershipBytes %d leaves too little room", len(b), MaxMembershipBytes)
	}
	got, err := DecodeMembership(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := EncodeMembership(gridmesh.Membership{}); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("encoding an empty certificate: %v", err)
	}
}

func TestDecodeMembershipRefuses(t *testing.T) {
	good, err := encMode.Marshal(sampleMembership(t))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := EncodePlan(samplePlan(1))
	if err != nil {
		t.Fatal(err)
	}
	withField := func(k int, v any) []byte {
		var m map[int]any
		if err := decMode.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		m[k] = v
		b, err := encMode.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"empty":          {nil, ErrUndecodable},
		"oversized":      {append(bytes.Clone(good), make([]byte, MaxMembershipBytes)...), ErrUndecodable},
		"trailing bytes": {append(bytes.Clone(good), 0), ErrUndecodable},
		"unknown field":  {withField(99, 1), ErrUndecodable},
		"peer as number": {withField(3, 7), ErrUndecodable},
		"a plan":         {plan, ErrUndecodable},
		"version 2":      {withField(1, 2), gridmesh.ErrInvalid},
		"no peer":        {withField(3, ""), gridmesh.ErrInvalid},
		"reversed":       {withField(6, 1), gridmesh.ErrInvalid},
	} {
		if _, err := DecodeMembership(tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func FuzzDecodeMembership(f *testing.F) {
	b, err := EncodeMembership(sampleMembership(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0xa1, 0x07, 0x40})
	f.Add([]byte{0xa2, 0x01, 0x01, 0x03, 0x61, 0x70})
	f.Fuzz(func(t *testing.T, data []byte) { checkRoundTrip(t, data, DecodeMembership) })
}

// The refused set expires, stays bounded, and drives the gater.
func TestAdmissionBlocklist(t *testing.T) {
	now := time.Unix(1_764_000_000, 0)
	a := newAdmission(AdmissionConfig{Timeout: time.Second, BlockFor: time.Minute}, regionKeys{})
	block := func(p peer.ID) bool { return a.block(p, time.Minute) }
	a.now = func() time.Time { return now }
	p := peer.ID("p")

	a.admit(p, now.Add(time.Hour))
	if !a.isAdmitted(p) {
		t.Fatal("admitted peer not admitted")
	}
	if !block(p) || block(p) {
		t.Fatal("block should report the first refusal only")
	}
	if a.isAdmitted(p) || a.InterceptPeerDial(p) || a.InterceptSecured(network.DirInbound, p, nil) {
		t.Fatal("a refused peer is admitted or let through")
	}
	a.admit(p, now.Add(time.Hour))
	if a.isAdmitted(p) {
		t.Fatal("a blocked peer was admitted")
	}
	now = now.Add(time.Minute)
	if !a.InterceptPeerDial(p) || !a.InterceptSecured(network.DirOutbound, p, nil) {
		t.Fatal("still blocked after BlockFor")
	}
	if !block(p) {
		t.Fatal("a peer refused again after its block ran out is not counted")
	}

	// Past maxBlocked, expired entries make room; live ones are kept.
	for i := range maxBlocked {
		block(peer.ID(fmt.Sprint("q", i)))
	}
	if len(a.blocked) != maxBlocked {
		t.Fatalf("%d blocked, want the cap %d", len(a.blocked), maxBlocked)
	}
	if !block("late") || !a.InterceptPeerDial("late") {
		t.Fatal("past the cap a peer is refused but should not be remembered")
	}
	now = now.Add(time.Minute)
	block("later")
	if !a.isBlocked("later") || len(a.blocked) != 1 {
		t.Fatalf("expired entries not swept: %d blocked", len(a.blocked))
	}

	// A guest's block drops it, and the guest list is bounded like the
	// refused one.
	a.welcome("g", now.Add(time.Hour))
	if !a.isGuest("g") || a.isAdmitted("g") {
		t.Fatal("a welcomed region peer is no guest, or is a member")
	}
	block("g")
	if a.isGuest("g") {
		t.Fatal("a refused guest is still welcome")
	}
	for i := range maxBlocked + 1 {
		a.welcome(peer.ID(fmt.Sprint("g", i)), now.Add(time.Second))
	}
	if len(a.guests) != maxBlocked {
		t.Fatalf("%d guests, want the cap %d", len(a.guests), maxBlocked)
	}

	// A certificate's expiry ends its admission.
	a.admit("m", now.Add(time.Second))
	now = now.Add(time.Second)
	if a.isAdmitted("m") {
		t.Fatal("admitted past its certificate's expiry")
	}
}
