package mesh

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A graylisted peer is shut out at the connection, not only at gossip.
// Gossipsub drops every RPC of a graylisted peer, but only after its
// stream was read, decrypted and the RPC decoded: a flooding member that
// keeps sending thousands of messages a second still costs each home it
// floods that work for as long as the flood lasts. With admission on,
// once the score snapshot (every second) shows a connected peer
// graylisted, this home closes its connections and its connection gater
// keeps it out for graylistBlockFor: its messages then cost nothing,
// and a flooder with no connection has nowhere to send them. The peer's
// score is retained (retainScore), so a peer back after the block that
// floods again is graylisted again at once.
//
// Graylisting takes 16 invalid messages (score.go), which no honest home
// sends; the block also cuts the peer's Raft traffic to this home, as a
// member that floods its neighbors should be cut. A peer below the
// threshold only for IHAVE promises it broke (the behaviour penalty,
// which a member starved of CPU collects by the dozen) is left connected
// (misbehaving, score.go): gossipsub ignores its RPCs meanwhile, but its
// Raft traffic and its admission stand, so a slow neighborhood does not
// lose its voters to its own defences.

// graylistBlockFor is how long a graylisted peer is kept out. Why a
// minute: long enough that a flood costs its target one connection
// attempt a minute, short enough that a member graylisted by a bug
// fixed meanwhile is back soon (its score, retained 10 minutes, decides
// whether it stays).
const graylistBlockFor = time.Minute

// shutOut disconnects the connected peers of graylisted and keeps them
// out for graylistBlockFor (counted once per block under
// ReasonAdmissionRefused/DetailGraylisted). With admission off there is
// no gate: it does nothing. Called on gossipsub's score inspector
// goroutine.
func (m *Mesh) shutOut(graylisted []peer.ID) {
	if m.adm == nil {
		return
	}
	for _, p := range graylisted {
		if p == m.ID() || m.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		if m.adm.block(p, graylistBlockFor) {
			m.rejections.add(ReasonAdmissionRefused + "/" + DetailGraylisted)
			m.log.Warn("graylisted peer disconnected", "peer", p.String(), "for", graylistBlockFor)
		}
		_ = m.host.Network().ClosePeer(p) // errors only for connections already closing
	}
}
