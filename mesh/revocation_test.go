package mesh_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// A revoked member loses its admission at once, is disconnected, and can
// reach the home no more, either way, whatever certificate it still
// holds; the revocation is counted once.
func TestRevokedMemberRefusedEverywhere(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	a := nb.OpenMember(t, meshtest.Config(), "h1")
	b := nb.OpenMember(t, meshtest.Config(), "h2")
	meshtest.Run(t, a)
	meshtest.Run(t, b)
	meshtest.Connect(t, b.Host(), a.Host())
	meshtest.Eventually(t, "a and b to admit each other", func() bool { return a.Admitted(b.ID()) && b.Admitted(a.ID()) })

	if !a.Revoke(b.ID()) {
		t.Fatal("Revoke of an admitted member reported nothing new")
	}
	if a.Admitted(b.ID()) || a.Cleared(b.ID()) || !a.Revoked(b.ID()) {
		t.Fatalf("after Revoke: admitted %v, cleared %v, revoked %v", a.Admitted(b.ID()), a.Cleared(b.ID()), a.Revoked(b.ID()))
	}
	meshtest.Eventually(t, "the revoked member to be disconnected", func() bool {
		return !connected(a.Host(), b.ID()) && !connected(b.Host(), a.ID())
	})
	var again atomic.Bool
	a.Host().Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == b.ID() {
			again.Store(true)
		}
	}})
	_ = dial(t, b.Host(), a.Host())
	meshtest.Eventually(t, "the revoked member's new connection to close", func() bool { return !connected(b.Host(), a.ID()) })
	if again.Load() {
		t.Error("the revoked member connected again")
	}
	if err := dial(t, a.Host(), b.Host()); err == nil {
		t.Error("the home dialed the revoked member")
	}
	if a.Revoke(b.ID()) {
		t.Error("a second Revoke reported a new revocation")
	}
	if n := refused(a, mesh.DetailRevoked); n != 1 {
		t.Errorf("revocation counted %d times, want once", n)
	}
	if a.Revoke(a.ID()) || a.Revoked(a.ID()) {
		t.Error("a home revoked itself")
	}
}

// With admission off there is no gate to close: Revoke does nothing.
func TestRevokeWithoutAdmission(t *testing.T) {
	m := meshtest.Open(t, meshtest.Config())
	if m.Revoke(newPeerID(t)) {
		t.Fatal("Revoke without admission reported a revocation")
	}
}

// A member forwards a revocation to the leader and gets its verdict; a
// stranger's stream is reset unread.
func TestForwardRevocation(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	leader := nb.OpenMember(t, meshtest.Config(), "h1")
	member := nb.OpenMember(t, meshtest.Config(), "h2")
	meshtest.Run(t, leader)
	meshtest.Run(t, member)
	var got atomic.Pointer[[]byte]
	var from atomic.Value
	leader.HandleRevocations(nbhd, func(_ context.Context, p peer.ID, b []byte) error {
		got.Store(&b)
		from.Store(p)
		if bytes.Equal(b, []byte("refuse me")) {
			return errors.New("signed by no neighborhood key")
		}
		return nil
	})
	meshtest.Connect(t, member.Host(), leader.Host())
	meshtest.Eventually(t, "the leader to admit the member", func() bool { return leader.Admitted(member.ID()) })

	if err := member.ForwardRevocation(t.Context(), leader.ID(), nbhd, []byte("revocation")); err != nil {
		t.Fatalf("forward: %v", err)
	}
	if b := got.Load(); b == nil || string(*b) != "revocation" || from.Load() != member.ID() {
		t.Fatalf("leader got %v from %v", b, from.Load())
	}
	err := member.ForwardRevocation(t.Context(), leader.ID(), nbhd, []byte("refuse me"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("signed by no neighborhood key")) {
		t.Fatalf("forward of a refused revocation: %v, want the leader's reason", err)
	}

	got.Store(nil)
	stranger := meshtest.NewAttacker(t)
	meshtest.Connect(t, stranger.Host, leader.Host())
	s, err := stranger.Host.NewStream(t.Context(), leader.ID(), mesh.RevokeProtocol(nbhd))
	if err == nil {
		_, _ = s.Write([]byte("revocation"))
		_ = s.CloseWrite()
		buf := make([]byte, 8)
		n, _ := s.Read(buf)
		if n > 0 {
			t.Errorf("the stranger got an answer %q", buf[:n])
		}
	}
	if got.Load() != nil {
		t.Error("the leader took a stranger's revocation")
	}
}
