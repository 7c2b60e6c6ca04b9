package mesh

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh"
)

// How leaders find each other. Only leaders join the aggregates topic,
// and a home's connections are to its own neighborhood and a few region
// peers (bootstrap): two leaders are seldom connected, so the topic would
// split into islands. A leader therefore asks the peers it is connected
// to which leaders they know (LeadersProtocol): a home names its own
// neighborhood's leader, a leader also the leaders it gossips aggregates
// with; the asker dials some of them. Asked again while it has fewer
// than enough aggregate peers, a leader walks the region's leaders one
// hop further each time, and gossipsub's mesh does the rest.

// LeadersProtocol is the libp2p protocol on which a home answers which
// region leaders it knows (LeaderHints).
const LeadersProtocol = protocol.ID("/gridmesh/region-leaders/1.0.0")

// Bounds of the leaders protocol, and why.
const (
	// MaxLeaderHints: a home names its neighborhood's leader and, if it
	// leads, its aggregate peers (gossipsub's mesh, ~6-12): 16 is room.
	MaxLeaderHints = 16
	// maxHintAddrs: a host listens on a few addresses.
	maxHintAddrs = 8
	// MaxLeaderHintsBytes bounds an answer: 16 hints of a peer ID (~52
	// characters) and 8 addresses (~60) each fit with CBOR framing.
	MaxLeaderHintsBytes = 16 << 10
	// leadersTimeout bounds one question: the answer is a few hundred
	// bytes from a connected peer.
	leadersTimeout = 5 * time.Second
	// leaderTag protects a connection to another leader from the
	// connection manager's trimming.
	leaderTag = "gridmesh-region-leader"
	// maxFindPeriod bounds KeepFinding's back-off: a leader of a region
	// whose leaders it all knows asks its peers twice a minute.
	maxFindPeriod = 30 * time.Second
)

// LeaderHints is an answer on LeadersProtocol: leaders the answering
// home knows, each with the addresses it has for them.
type LeaderHints struct {
	Version uint16       `cbor:"1,keyasint"`
	Leaders []LeaderHint `cbor:"2,keyasint"`
}

// LeaderHint is one leader: its peer ID and multiaddrs.
type LeaderHint struct {
	Peer  string   `cbor:"1,keyasint"`
	Addrs []string `cbor:"2,keyasint"`
}

// Validate checks the version, the bounds, that every peer ID parses and
// every address is a multiaddr.
func (h LeaderHints) Validate() error {
	if h.Version != gridmesh.WireVersion {
		return fmt.Errorf("%w: leader hints version %d, want %d", gridmesh.ErrInvalid, h.Version, gridmesh.WireVersion)
	}
	if len(h.Leaders) > MaxLeaderHints {
		return fmt.Errorf("%w: %d leader hints, at most %d", gridmesh.ErrInvalid, len(h.Leaders), MaxLeaderHints)
	}
	for _, l := range h.Leaders {
		if _, err := peer.Decode(l.Peer); err != nil {
			return fmt.Errorf("%w: leader hint peer %q: %v", gridmesh.ErrInvalid, l.Peer, err)
		}
		if len(l.Addrs) > maxHintAddrs {
			return fmt.Errorf("%w: leader hint with %d addresses, at most %d", gridmesh.ErrInvalid, len(l.Addrs), maxHintAddrs)
		}
		for _, a := range l.Addrs {
			if _, err := ma.NewMultiaddr(a); err != nil {
				return fmt.Errorf("%w: leader hint address %q: %v", gridmesh.ErrInvalid, a, err)
			}
		}
	}
	return nil
}

// DecodeLeaderHints decodes and validates an answer of at most
// MaxLeaderHintsBytes. Its errors wrap ErrUndecodable or
// gridmesh.ErrInvalid.
func DecodeLeaderHints(b []byte) (LeaderHints, error) {
	return decodeValid[LeaderHints]("leader hints", b, MaxLeaderHintsBytes)
}

// ServeLeaders answers LeadersProtocol with the leaders known() names (at
// most MaxLeaderHints; the addresses come from the peerstore), to peers
// cleared for gossip only. Call it once, before Run.
func (m *Mesh) ServeLeaders(known func() []peer.ID) {
	m.host.SetStreamHandler(LeadersProtocol, func(s network.Stream) {
		defer s.Close()
		if !m.Cleared(s.Conn().RemotePeer()) {
			_ = s.Reset()
			return
		}
		_ = s.SetWriteDeadline(time.Now().Add(leadersTimeout))
		b, err := encode("leader hints", m.hints(known()))
		if err == nil {
			_, err = s.Write(b)
		}
		if err != nil {
			_ = s.Reset()
		}
	})
}

// hints is the answer naming ids, with the addresses this host has for
// them (those it has none for are left out).
func (m *Mesh) hints(ids []peer.ID) LeaderHints {
	h := LeaderHints{Version: gridmesh.WireVersion, Leaders: []LeaderHint{}}
	for _, id := range ids {
		if len(h.Leaders) == MaxLeaderHints {
			break
		}
		addrs := m.host.Peerstore().Addrs(id)
		if id == m.host.ID() {
			addrs = m.host.Addrs()
		}
		if len(addrs) == 0 {
			continue
		}
		hint := LeaderHint{Peer: id.String()}
		for _, a := range addrs[:min(len(addrs), maxHintAddrs)] {
			hint.Addrs = append(hint.Addrs, a.String())
		}
		h.Leaders = append(h.Leaders, hint)
	}
	return h
}

// askLeaders asks p which leaders it knows.
func (m *Mesh) askLeaders(ctx context.Context, p peer.ID) ([]peer.AddrInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, leadersTimeout)
	defer cancel()
	s, err := m.host.NewStream(ctx, p, LeadersProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_ = s.SetReadDeadline(time.Now().Add(leadersTimeout))
	b, err := io.ReadAll(io.LimitReader(s, MaxLeaderHintsBytes+1))
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	h, err := DecodeLeaderHints(b)
	if err != nil {
		return nil, err
	}
	out := make([]peer.AddrInfo, 0, len(h.Leaders))
	for _, l := range h.Leaders {
		id, _ := peer.Decode(l.Peer) // Validate parsed it
		ai := peer.AddrInfo{ID: id}
		for _, a := range l.Addrs {
			ai.Addrs = append(ai.Addrs, ma.StringCast(a))
		}
		out = append(out, ai)
	}
	return out, nil
}

// FindLeaders asks up to ask of the peers this host is connected to
// (those already on the aggregates topic first, then, at random, those
// of other neighborhoods, then its own neighborhood's members, who can
// only name this leader) which leaders they know, and dials up to dial of
// those it is not connected to, protecting the connections. It returns
// how many it connected to.
func (a *Aggregates) FindLeaders(ctx context.Context, ask, dial int) int {
	m := a.r.m
	onTopic := a.Peers()
	others := m.host.Network().Peers()
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	slices.SortStableFunc(others, func(p, q peer.ID) int { return cmp.Compare(m.memberOrder(p), m.memberOrder(q)) })
	seen := map[peer.ID]bool{m.host.ID(): true}
	var asked []peer.ID
	for _, p := range append(onTopic, others...) {
		if len(asked) < ask && !seen[p] {
			asked = append(asked, p)
		}
		seen[p] = true
	}
	connected := 0
	for _, p := range asked {
		hints, err := m.askLeaders(ctx, p)
		if err != nil {
			m.log.Debug("leaders not asked", "peer", p.String(), "err", err)
			continue
		}
		for _, ai := range hints {
			if connected == dial || ctx.Err() != nil {
				return connected
			}
			if ai.ID == m.host.ID() {
				continue
			}
			if m.host.Network().Connectedness(ai.ID) == network.Connected {
				m.host.ConnManager().Protect(ai.ID, leaderTag)
				continue
			}
			if err := m.dial(ctx, ai); err != nil {
				m.log.Debug("leader not dialed", "peer", ai.ID.String(), "err", err)
				continue
			}
			m.host.ConnManager().Protect(ai.ID, leaderTag)
			connected++
		}
	}
	return connected
}

// memberOrder is 1 for an admitted member of this home's neighborhood
// (admission on), 0 for any other peer.
func (m *Mesh) memberOrder(p peer.ID) int {
	if m.adm != nil && m.Admitted(p) {
		return 1
	}
	return 0
}

// KeepFinding runs FindLeaders(ctx, ask, dial) at once and again while
// this host has fewer than want aggregate peers, until ctx ends: every
// period while it has none or rounds connect it to new leaders, backing
// off to maxFindPeriod while they connect none (a region of fewer than
// want+1 leaders never has want peers).
func (a *Aggregates) KeepFinding(ctx context.Context, period time.Duration, want, ask, dial int) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	wait := period
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if have := len(a.Peers()); have < want {
			if a.FindLeaders(ctx, ask, dial) > 0 || have == 0 {
				wait = period
			} else {
				wait = min(2*wait, maxFindPeriod)
			}
		}
		timer.Reset(wait)
	}
}
