package mesh

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// Gossipsub's mesh, sized for gridmesh's topics. A neighborhood topic
// has about 25 homes, most of them connected to each other, and every
// publication is flood-published (startGossip): the author sends it to
// every subscriber it is connected to, so the mesh forwards only to the
// few it does not reach directly, and almost every forwarded copy is a
// duplicate that the receiver encrypts, frames, decrypts and drops. The
// library's defaults (D 6, up to 12; gossip to at least 6 non-mesh peers
// a heartbeat) are sized for topics of thousands of peers without flood
// publishing; in a 25-home topic they cost each message about 6 × 24
// duplicate copies and each heartbeat IHAVE lists to 6 peers that have
// every message already. Halving them halves that traffic, while a mesh
// of 4 on 25 homes stays connected with a diameter of about 3 hops, and
// the region topic (every home of a region) keeps a diameter of about
// log₄ n: 5 hops for 1,000 homes. docs/BENCHMARKS.md has the profiles.
const (
	// gossipD, gossipDlo, gossipDhi: the mesh degree, and the bounds
	// that trigger grafting and pruning (the library's ratios to D).
	gossipD, gossipDlo, gossipDhi = 4, 3, 8
	// gossipDscore: peers kept by score when pruning (≤ D, library's
	// default 4 at D 6, so two thirds).
	gossipDscore = 3
	// gossipDout: outbound mesh links kept (< Dlo, ≤ D/2), against an
	// eclipse by inbound connections.
	gossipDout = 1
	// gossipDlazy and gossipFactor: IHAVE gossip each heartbeat to at
	// least 3 non-mesh peers, or a tenth of them: with flood publishing
	// gossip only repairs a message lost on a direct link.
	gossipDlazy  = 3
	gossipFactor = 0.1
)

// gossipParams returns the gossipsub parameters for a host whose
// heartbeat is heartbeat.
func gossipParams(heartbeat time.Duration) pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.HeartbeatInterval = heartbeat
	p.D, p.Dlo, p.Dhi = gossipD, gossipDlo, gossipDhi
	p.Dscore, p.Dout = gossipDscore, gossipDout
	p.Dlazy, p.GossipFactor = gossipDlazy, gossipFactor
	return p
}
