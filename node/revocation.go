package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/mesh"
)

// Revocation, as this home runs it:
//
//   - `gridmesh neighborhood revoke` signs a gridmesh.Revocation with the
//     neighborhood's key and POSTs it to a member's
//     /api/v1/revocations. The member checks its signature and, as the
//     Raft leader, commits it (consensus.Group.Revoke); otherwise it
//     forwards it to the leader over mesh.RevokeProtocol, which checks
//     and commits it in turn.
//   - Every member applies the log: on each applied revocation
//     (Group.RevocationsChanged) the revocation enforcer checks the
//     signature again (the log's writer is a member, not the key's
//     holder) and revokes the peer in the mesh (mesh.Mesh.Revoke): the
//     gater, the topics and the Raft transport refuse it from then on,
//     and its connections close.
//   - The leader's upkeep removes revoked members from the Raft
//     configuration (consensus.PlanUpkeep).
//
// Revocations live in the log and its snapshots, so a home restarted
// refuses the peer again once it has applied them.

// revocationKeys returns the neighborhood's membership keys this home
// checks a revocation against: none for an open home, which then
// neither takes nor enforces one.
func (n *Node) revocationKeys() []ed25519.PublicKey {
	if a := n.cfg.Mesh.Admission; a != nil {
		return a.Keys(n.now())
	}
	return nil
}

// ErrRevocationsNeedAdmission: an open home has no neighborhood key to
// check a revocation against, and no gate to shut.
var ErrRevocationsNeedAdmission = errors.New("this home runs open (no admission: block): it has no neighborhood key to check a revocation against")

// parseRevocation reads and checks a revocation in its binary form.
func (n *Node) parseRevocation(b []byte) (gridmesh.Revocation, error) {
	keys := n.revocationKeys()
	if keys == nil {
		return gridmesh.Revocation{}, ErrRevocationsNeedAdmission
	}
	r, err := gridmesh.ParseRevocation(b)
	if err != nil {
		return r, err
	}
	if err := r.Verify(n.cfg.Neighborhood, keys...); err != nil {
		return r, err
	}
	return r, nil
}

// SubmitRevocation checks revocation b (binary form) and has it
// committed to the neighborhood's log: here if this home leads,
// otherwise by the leader it forwards it to. It returns the revoked peer
// once committed.
func (n *Node) SubmitRevocation(ctx context.Context, b []byte) (string, error) {
	r, err := n.parseRevocation(b)
	if err != nil {
		return "", err
	}
	nw := n.up.Load()
	if nw == nil {
		return "", errors.New("the home's network is down")
	}
	if nw.group.IsLeader() {
		return r.Peer, nw.group.Revoke(ctx, r)
	}
	id, _ := nw.group.Leader()
	leader, err := peer.Decode(id)
	if err != nil {
		return "", fmt.Errorf("no leader known to forward the revocation to: %w", err)
	}
	return r.Peer, nw.mesh.ForwardRevocation(ctx, leader, n.cfg.Neighborhood, b)
}

// takeForwarded is the leader's side of a forwarded revocation: check
// and commit it, never forward it again (a leader that changed meanwhile
// answers so, and the member's submitter tries again).
func takeForwarded(n *Node, g *consensus.Group) mesh.RevocationHandler {
	return func(ctx context.Context, from peer.ID, b []byte) error {
		r, err := n.parseRevocation(b)
		if err != nil {
			return err
		}
		if err := g.Revoke(ctx, r); err != nil {
			return err
		}
		n.log.Info("revocation committed", "peer", r.Peer, "forwarded_by", from.String())
		return nil
	}
}

// revocationsFallback is how often the enforcer looks at the applied
// revocations without a notice. Why a minute: notices are never lost
// (the channel holds one), this only bounds the harm of a bug.
const revocationsFallback = time.Minute

// enforceRevocations revokes in the mesh every peer the neighborhood's
// log revoked with a valid signature, at once and on every change, until
// ctx ends.
func (n *Node) enforceRevocations(ctx context.Context) error {
	// A network opened anew has a mesh that refuses no one yet.
	for _, id := range n.revoked.peers() {
		if p, err := peer.Decode(id); err == nil {
			n.mesh.Revoke(p)
		}
	}
	tick := time.NewTicker(revocationsFallback)
	defer tick.Stop()
	for {
		n.revoked.enforce(n, n.mesh, n.group)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.group.RevocationsChanged():
		case <-tick.C:
		}
	}
}

// revokedPeers is what this home enforces: each peer revoked with a valid
// signature and when it was revoked here. Its mutex guards the map; the
// enforcer writes it, Status and RevokedAt read it.
type revokedPeers struct {
	mu sync.Mutex
	at map[string]time.Time
	// unverified holds revocations whose signature failed, by peer and
	// signature: a forged one (a beacon's, say) never hides a genuine
	// revocation of the same peer.
	unverified map[string]bool
}

// enforce revokes in m every peer of g's revocations not yet enforced.
func (rp *revokedPeers) enforce(n *Node, m *mesh.Mesh, g *consensus.Group) {
	keys := n.revocationKeys()
	for _, r := range g.Revoked() {
		key := r.Peer + "\x00" + string(r.Signature)
		rp.mu.Lock()
		_, done := rp.at[r.Peer]
		bad := rp.unverified[key]
		rp.mu.Unlock()
		if done || bad {
			continue
		}
		p, err := peer.Decode(r.Peer)
		if err == nil {
			err = r.Verify(n.cfg.Neighborhood, keys...)
		}
		rp.mu.Lock()
		if rp.at == nil {
			rp.at, rp.unverified = make(map[string]time.Time), make(map[string]bool)
		}
		if err != nil {
			rp.unverified[key] = true
			rp.mu.Unlock()
			n.log.Warn("revocation not signed by the neighborhood's key: ignored", "peer", r.Peer, "err", err)
			continue
		}
		rp.at[r.Peer] = n.now()
		rp.mu.Unlock()
		m.Revoke(p)
		select {
		case n.revokedCh <- struct{}{}:
		default: // one pending wake-up is enough
		}
	}
}

// peers returns the peers this home enforces a revocation of.
func (rp *revokedPeers) peers() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	out := make([]string, 0, len(rp.at))
	for p := range rp.at {
		out = append(out, p)
	}
	return out
}

// RevokedAt returns when this home began refusing peer p for a
// revocation of the neighborhood's log; false if it does not.
func (n *Node) RevokedAt(p string) (time.Time, bool) {
	n.revoked.mu.Lock()
	defer n.revoked.mu.Unlock()
	at, ok := n.revoked.at[p]
	return at, ok
}

// maxRevocationBody bounds a POSTed revocation.
const maxRevocationBody = gridmesh.MaxRevocationBytes

// revocationTimeout bounds a POST: forwarding to the leader and its
// commit (see mesh's revokeTimeout) with a margin.
const revocationTimeout = 15 * time.Second

// postRevocation takes a revocation in its binary form
// (application/octet-stream). It needs no owner token: only the
// neighborhood key's holder can sign one, and the home checks that
// before anything else.
func (n *Node) postRevocation(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRevocationBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), revocationTimeout)
	defer cancel()
	p, err := n.SubmitRevocation(ctx, b)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"revoked": p})
	case errors.Is(err, gridmesh.ErrInvalid), errors.Is(err, gridmesh.ErrBadSignature),
		errors.Is(err, gridmesh.ErrWrongNeighborhood), errors.Is(err, ErrRevocationsNeedAdmission):
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
	default:
		writeJSON(w, http.StatusBadGateway, apiError{Error: err.Error()})
	}
}

// RaftMembers returns the peer IDs in the Raft configuration this home
// holds (voters and non-voters); false while its network is down or the
// configuration cannot be read.
func (n *Node) RaftMembers() ([]string, bool) {
	nw := n.up.Load()
	if nw == nil {
		return nil, false
	}
	servers, _, err := nw.group.Members()
	if err != nil {
		return nil, false
	}
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.ID
	}
	return out, true
}
