package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gridmesh/gridmesh"
)

// Revoke keeps peer p out of this home for good: it is no longer
// admitted nor a region peer, so it is not Cleared for any topic and the
// Raft transport (whose Admit is Admitted) refuses its streams; the
// connection gater denies every connection to or from it, and its
// connections are closed now. It reports whether p was newly revoked
// (then counted once under ReasonAdmissionRefused/DetailRevoked). With
// admission off there is no gate: it does nothing and reports false.
//
// The caller revokes only peers the neighborhood's key revoked (see
// gridmesh.Revocation); nothing undoes a revocation short of a restart
// with a log that holds none.
func (m *Mesh) Revoke(p peer.ID) bool {
	if m.adm == nil || p == m.ID() || !m.adm.revoke(p) {
		return false
	}
	m.rejections.add(ReasonAdmissionRefused + "/" + DetailRevoked)
	m.log.Info("peer revoked", "peer", p.String())
	_ = m.host.Network().ClosePeer(p) // errors only for connections already closing
	return true
}

// Revoked reports whether Revoke was called for p.
func (m *Mesh) Revoked(p peer.ID) bool {
	if m.adm == nil {
		return false
	}
	m.adm.mu.Lock()
	defer m.adm.mu.Unlock()
	_, ok := m.adm.revoked[p]
	return ok
}

// revokeProtocolPrefix starts the protocol ID on which a member hands a
// revocation to its neighborhood's leader.
const revokeProtocolPrefix = "/gridmesh/revoke/1.0.0/"

// RevokeProtocol is the libp2p protocol on which a member of
// neighborhood n forwards a revocation (gridmesh.Revocation in its
// binary form) to n's Raft leader, which answers one line: "ok" or why
// not.
func RevokeProtocol(n gridmesh.NeighborhoodID) protocol.ID {
	return protocol.ID(revokeProtocolPrefix + string(n))
}

// revokeTimeout bounds one forwarded revocation, both ways. Why 10 s: the
// leader checks a signature and commits one entry (milliseconds), but a
// commit waits out an election when the leader just changed.
const revokeTimeout = 10 * time.Second

// maxRevokeReply bounds the leader's answer.
const maxRevokeReply = 512

// RevocationHandler takes a revocation a member forwarded, in its binary
// form, and returns nil once it is committed, or why not.
type RevocationHandler func(ctx context.Context, from peer.ID, b []byte) error

// HandleRevocations makes h take the revocations members of neighborhood
// n forward to this home. Only admitted peers may forward (a stranger's
// stream is reset unread); h runs on the stream's goroutine, under
// revokeTimeout.
func (m *Mesh) HandleRevocations(n gridmesh.NeighborhoodID, h RevocationHandler) {
	m.host.SetStreamHandler(RevokeProtocol(n), func(s network.Stream) {
		from := s.Conn().RemotePeer()
		if !m.Admitted(from) {
			_ = s.Reset()
			return
		}
		ctx, cancel := context.WithTimeout(m.gossipCtx, revokeTimeout)
		defer cancel()
		_ = s.SetDeadline(time.Now().Add(revokeTimeout))
		b, err := io.ReadAll(io.LimitReader(s, gridmesh.MaxRevocationBytes+1))
		if err != nil {
			_ = s.Reset()
			return
		}
		reply := "ok"
		if err := h(ctx, from, b); err != nil {
			reply = err.Error()
		}
		if len(reply) > maxRevokeReply {
			reply = reply[:maxRevokeReply]
		}
		_, _ = s.Write([]byte(reply)) // the forwarder sees a short or missing answer as a failure
		_ = s.Close()
	})
}

// errRevocationRefused wraps the leader's answer when it did not commit
// a forwarded revocation.
var errRevocationRefused = errors.New("revocation refused by the leader")

// ForwardRevocation hands revocation b (binary form) to peer to, the
// leader of neighborhood n, and returns once it answered: nil when it
// committed it.
func (m *Mesh) ForwardRevocation(ctx context.Context, to peer.ID, n gridmesh.NeighborhoodID, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	s, err := m.host.NewStream(ctx, to, RevokeProtocol(n))
	if err != nil {
		return fmt.Errorf("mesh: forward revocation to %s: %w", to, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if _, err := s.Write(b); err != nil {
		_ = s.Reset()
		return fmt.Errorf("mesh: forward revocation to %s: %w", to, err)
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return fmt.Errorf("mesh: forward revocation to %s: %w", to, err)
	}
	reply, err := io.ReadAll(io.LimitReader(s, maxRevokeReply))
	_ = s.Close()
	if err != nil {
		return fmt.Errorf("mesh: forward revocation to %s: %w", to, err)
	}
	if r := strings.TrimSpace(string(reply)); r != "ok" {
		return fmt.Errorf("%w %s: %s", errRevocationRefused, to, r)
	}
	return nil
}

// renewTimeout bounds presenting a renewed certificate to one peer.
const renewTimeout = 5 * time.Second

// RenewCertificate replaces the certificate this home presents with c
// (same home, neighborhood and peer; signed by the neighborhood's key;
// valid now) and presents it at once to every connected peer, so that
// neighbors extend this home's admission before the old certificate
// expires: a renewal without a restart, and without a gap. It returns
// once every peer was presented it or failed to be (at most
// renewTimeout later); a peer that missed it gets it on its next
// connection.
func (m *Mesh) RenewCertificate(ctx context.Context, c gridmesh.Membership) error {
	a := m.adm
	if a == nil {
		return errors.New("mesh: renew certificate: admission is off")
	}
	if err := a.cfg.checkOwn(c, m.ID(), a.now()); err != nil {
		return fmt.Errorf("mesh: renew certificate: %w", err)
	}
	a.mu.Lock()
	a.own = c
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, renewTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range m.host.Network().Peers() {
		wg.Go(func() {
			if err := Present(ctx, m.host, p, a.nbhd, c); err != nil {
				m.log.Debug("renewed membership not presented", "peer", p.String(), "err", err)
			}
		})
	}
	wg.Wait()
	m.log.Info("membership certificate renewed", "expires", c.Expires().UTC().Format(time.RFC3339))
	return nil
}
