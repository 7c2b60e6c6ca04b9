package mesh

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// Gossipsub's mesh, sized for gridmesh's topics. A neighborhood topic has
// about 25 homes, most connected to each other, and every publication is
// flood-published (startGossip): the author sends it to every subscriber
// it is connected to, so the mesh's forwarding reaches first only the
// few the author does not reach directly, and almost every copy it
// forwards is a duplicate that the receiver decrypts, frames and drops
// (each costing a yamux frame, a Noise seal and open and a write and a
// read: a third of a city's CPU). The library's defaults are sized for
// topics of thousands of peers without flood publishing: a mesh of 6
// that inbound grafts grow up to 12, so on a 25-home topic each home
// forwards every message to 5 to 11 peers that mostly have it.
//
// A mesh of 4 (3 to 6) halves that, measured by BenchmarkNeighborhoodTelemetry
// (mesh/gossip_bench_test.go; docs/BENCHMARKS.md): duplicates per
// delivery 6.4 → 3.6, RPC frames 7.5 → 4.7, CPU per delivery −25 to −30 %.
// What stays:
//   - Delivery: the author still reaches every subscriber it is
//     connected to directly; a mesh of 4 on 25 homes is connected with a
//     diameter of ~3 hops, on a region of 2,000 leaders ~7 (ln n / ln 3).
//   - Eclipse resistance: Dout 1 outbound link kept in every mesh (the
//     most the library allows at D 4: Dout < D/2), with Dscore 3 of the 4
//     kept by score when pruning; admission (one certificate per identity)
//     bounds how many identities an attacker has at all.
//   - Repair: IHAVE gossip each heartbeat to 3 non-mesh peers (or a tenth
//     of them), over the library's 3 heartbeats of history: a message
//     lost on a direct link is asked for (IWANT) within a heartbeat or
//     two. With flood publishing, IWANT is all but unused (0.07 IDs per
//     home per second in the 100-home city).
//
// Scoring (score.go) does not depend on D: P3 (mesh deliveries) is off,
// and P1, P2, P4 and P7 count per peer, mesh or not.
const (
	gossipD, gossipDlo, gossipDhi = 4, 3, 6
	gossipDscore                  = 3
	gossipDout                    = 1
	gossipDlazy                   = 3
	gossipFactor                  = 0.1
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
