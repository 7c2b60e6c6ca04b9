package node_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

// A revocation handed to a follower reaches the leader, is committed,
// and every other home refuses the revoked one from then on; a forged
// one is refused where it is handed in.
func TestRevocationReachesEveryHome(t *testing.T) { inBubble(t, testRevocationReachesEveryHome) }

func testRevocationReachesEveryHome(t *testing.T) {
	mn := meshtest.NewMemNetwork()
	nb, homes := startAdmittedNeighborhood(t, mn, 4, 3)
	victim := homes[3].n.PeerID()
	rev := gridmesh.Revocation{Version: gridmesh.WireVersion, Neighborhood: "nb", Peer: victim.String(), IssuedMs: time.Now().UnixMilli()}
	forged := rev
	other := meshtest.NewNeighborhood(t, "nb")
	if err := forged.Sign(other.Priv); err != nil {
		t.Fatal(err)
	}
	if err := rev.Sign(nb.Priv); err != nil {
		t.Fatal(err)
	}
	follower := followerOf(t, homes[:3])
	fb, _ := forged.AppendBinary(nil)
	if _, err := follower.SubmitRevocation(t.Context(), fb); !errors.Is(err, gridmesh.ErrBadSignature) {
		t.Fatalf("forged revocation: %v, want ErrBadSignature", err)
	}
	b, _ := rev.AppendBinary(nil)
	got, err := follower.SubmitRevocation(t.Context(), b)
	if err != nil || got != victim.String() {
		t.Fatalf("submit through a follower: %q, %v", got, err)
	}
	committed := time.Now()
	waitFor(t, "every other home to refuse the revoked one", 10*time.Second, func() bool {
		for _, h := range homes[:3] {
			if _, ok := h.n.RevokedAt(victim.String()); !ok {
				return false
			}
		}
		return true
	})
	for _, h := range homes[:3] {
		at, _ := h.n.RevokedAt(victim.String())
		if d := at.Sub(committed); d > time.Second {
			t.Errorf("%s refused the revoked home %v after the commit, more than a plan period", h.n.Home(), d)
		}
		if r := h.n.Status().Rejections[mesh.ReasonAdmissionRefused+"/"+mesh.DetailRevoked]; r != 1 {
			t.Errorf("%s counted %d revocations, want 1", h.n.Home(), r)
		}
	}
}

// followerOf returns a home that does not lead, once one leads.
func followerOf(t *testing.T, homes []*testHome) *node.Node {
	t.Helper()
	var f *node.Node
	waitFor(t, "a leader", 30*time.Second, func() bool {
		for _, h := range homes {
			if s := h.n.Status(); s.Leader != "" && !s.IsLeader {
				f = h.n
			}
		}
		return f != nil
	})
	return f
}
