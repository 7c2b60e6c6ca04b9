package consensus

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gridmesh/gridmesh"
)

// Revoke commits revocation r to the neighborhood's log, on the leader,
// and returns once it is committed and applied here: from then on every
// member that applies the log learns of it (see Revoked). The caller
// checks r's signature first: the FSM checks only its form. Revoking a
// peer already revoked is a no-op that succeeds.
func (g *Group) Revoke(ctx context.Context, r gridmesh.Revocation) error {
	cmd, err := revokeCommand(r)
	if err != nil {
		return fmt.Errorf("consensus: revoke: %w", err)
	}
	f := g.r().Apply(cmd, g.cfg.ApplyTimeout)
	if err := g.leaderErr("revoke", wait(ctx, f)); err != nil {
		return err
	}
	if err, ok := f.Response().(error); ok {
		return fmt.Errorf("consensus: revoke %s: %w", r.Peer, err)
	}
	return nil
}

// Revoked returns the revocations this member has applied (from its log
// or a snapshot, so they survive restarts) and, for a home outside the
// Raft configuration, those its leader's beacons carried, sorted by
// peer. Their signatures are unchecked: a home acts only on those its
// neighborhood's key signed.
func (g *Group) Revoked() []gridmesh.Revocation {
	revs := g.cur.Load().fsm.revocations()
	g.beaconRevMu.Lock()
	defer g.beaconRevMu.Unlock()
	for _, r := range g.beaconRev {
		if !slices.ContainsFunc(revs, func(x gridmesh.Revocation) bool { return x.Peer == r.Peer && bytes.Equal(x.Signature, r.Signature) }) {
			revs = append(revs, r)
		}
	}
	slices.SortFunc(revs, func(a, b gridmesh.Revocation) int { return strings.Compare(a.Peer, b.Peer) })
	return revs
}

// RevocationsChanged gets a notice (a pending one is enough) whenever
// the revocations this member applied change, including by a snapshot
// restored at start; a Reset starts from none again.
func (g *Group) RevocationsChanged() <-chan struct{} { return g.revokeCh }
