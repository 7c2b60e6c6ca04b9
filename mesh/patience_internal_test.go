package mesh

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A peer that claimed membership and was refused for presenting nothing
// is kept out for a second, twice as long at each such refusal in a row,
// up to noCertificateBlockFor (one that claimed none, that long at once); a
// valid certificate lifts that block and forgets the strikes, never a
// block for a bad certificate.
func TestSilentPeerBlockGrows(t *testing.T) {
	now := time.Unix(1_764_000_000, 0)
	a := newAdmission(AdmissionConfig{Timeout: time.Second, BlockFor: time.Hour}, regionKeys{})
	a.now = func() time.Time { return now }
	p := peer.ID("p")
	for i, want := range []time.Duration{1, 2, 4, 8, 16, 30, 30, 30} {
		if !a.blockSilent(p, true) {
			t.Fatalf("refusal %d not counted", i+1)
		}
		if got := a.blocked[p].until.Sub(now); got != want*time.Second {
			t.Fatalf("refusal %d: kept out %v, want %v", i+1, got, want*time.Second)
		}
		if a.blockSilent(p, true) {
			t.Fatalf("refusal %d counted twice", i+1)
		}
		now = a.blocked[p].until
	}

	// Blocked and presenting a valid certificate: let in at once.
	a.blockSilent(p, true)
	a.admit(p, now.Add(time.Hour))
	if !a.isAdmitted(p) || a.isBlocked(p) || a.lifted != 1 {
		t.Fatalf("a valid certificate did not lift the block: admitted %v, blocked %v, lifted %d", a.isAdmitted(p), a.isBlocked(p), a.lifted)
	}
	if a.blockSilent(p, true); a.blocked[p].until.Sub(now) != time.Second {
		t.Fatalf("strikes not forgotten on admission: kept out %v", a.blocked[p].until.Sub(now))
	}

	// A peer that claimed no membership is kept out the longest at once.
	s := peer.ID("s")
	a.blockSilent(s, false)
	if got := a.blocked[s].until.Sub(now); got != noCertificateBlockFor {
		t.Fatalf("a peer claiming nothing kept out %v, want %v", got, noCertificateBlockFor)
	}

	// A bad certificate's block stands.
	q := peer.ID("q")
	a.block(q, time.Hour)
	a.admit(q, now.Add(time.Hour))
	if a.isAdmitted(q) || !a.isBlocked(q) {
		t.Fatal("a peer refused for a bad certificate was let in")
	}
}

// The strikes remembered stay bounded.
func TestSilentPeerStrikesBounded(t *testing.T) {
	a := newAdmission(AdmissionConfig{Timeout: time.Second, BlockFor: time.Hour}, regionKeys{})
	for i := range maxBlocked + 10 {
		a.blockSilent(peer.ID(rune(i)), true)
	}
	if len(a.strikes) > maxBlocked {
		t.Fatalf("%d strikes remembered, more than %d", len(a.strikes), maxBlocked)
	}
}

func TestCredit(t *testing.T) {
	step := 50 * time.Millisecond
	for _, tc := range []struct{ slept, want time.Duration }{
		{50 * time.Millisecond, 50 * time.Millisecond}, // on time
		{70 * time.Millisecond, 70 * time.Millisecond}, // a little late: all of it
		{75 * time.Millisecond, 75 * time.Millisecond}, // half a step late
		{time.Second, 75 * time.Millisecond},           // starved: half a step past the step
		{40 * time.Millisecond, 40 * time.Millisecond}, // woken early (ctx)
	} {
		if got := credit(step, tc.slept); got != tc.want {
			t.Errorf("credit(%v, %v) = %v, want %v", step, tc.slept, got, tc.want)
		}
	}
}
