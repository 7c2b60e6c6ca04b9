package testnet

import (
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/node"
)

// GossipReport is what the homes' gossip hosts sent and received, per
// home per second, over a window of the run with every neighborhood
// planned: from the first sample at which every neighborhood had all its
// live homes on a plan to just before the homes stop. It counts what
// every message costs twice (a yamux frame, a Noise seal or open and a
// syscall at each end), so it is where a cheaper home starts
// (docs/SCALING.md's arithmetic, measured in the city).
type GossipReport struct {
	// WindowS is the window's length, s; Homes the homes counted (live
	// at both ends, on the same network: a home restarted in between
	// is left out).
	WindowS float64 `json:"window_s"`
	Homes   int     `json:"homes"`
	// Topics are the messages by kind of topic (mesh.TopicTelemetry,
	// ...), per home per second.
	Topics map[string]GossipTopicRates `json:"topics"`
	// RPCsSent and RPCsReceived are gossipsub RPC frames per home per
	// second; BytesSent and BytesReceived their protobuf bytes.
	RPCsSent      float64 `json:"rpcs_sent"`
	RPCsReceived  float64 `json:"rpcs_received"`
	BytesSent     float64 `json:"bytes_sent"`
	BytesReceived float64 `json:"bytes_received"`
	// IHaveIDs and IWantIDs are message IDs advertised and asked for per
	// home per second.
	IHaveIDs float64 `json:"ihave_ids"`
	IWantIDs float64 `json:"iwant_ids"`
}

// GossipTopicRates are one kind of topic's messages per home per second.
type GossipTopicRates struct {
	Received   float64 `json:"received"`
	Duplicates float64 `json:"duplicates"`
	Sent       float64 `json:"sent"`
}

// gossipMeanings are GossipReport's lines of figureMeanings.
var gossipMeanings = map[string]string{
	"gossip.window_s":       "the window the gossip rates are over: from every neighborhood planned to the end, s",
	"gossip.homes":          "homes counted (live at both ends of the window, not restarted)",
	"gossip.topics":         "gossip messages per home per second by kind of topic: received (first copies), duplicates dropped, sent (one per peer)",
	"gossip.rpcs_sent":      "gossipsub RPC frames sent per home per second",
	"gossip.rpcs_received":  "gossipsub RPC frames received per home per second",
	"gossip.bytes_sent":     "protobuf bytes of gossipsub RPCs sent per home per second",
	"gossip.bytes_received": "protobuf bytes of gossipsub RPCs received per home per second",
	"gossip.ihave_ids":      "message IDs advertised in IHAVE per home per second",
	"gossip.iwant_ids":      "message IDs asked for in IWANT per home per second",
}

// gossipCount is one home's counters at one instant, and the run of the
// home (its node) they count: a restart begins them anew.
type gossipCount struct {
	run    *node.Node
	topics map[string]mesh.TopicTraffic
	wire   mesh.WireTraffic
}

// snapshotGossip returns the counters of every live home whose network
// is up.
func snapshotGossip(homes []*home) map[*home]gossipCount {
	out := make(map[*home]gossipCount, len(homes))
	for _, h := range homes {
		if !h.alive.Load() {
			continue
		}
		n := h.shown.Load()
		if t, w, ok := n.Gossip(); ok {
			out[h] = gossipCount{run: n, topics: t, wire: w}
		}
	}
	return out
}

// gossipRates returns the report of the window from start to end,
// windowS seconds long; nil if no home was counted.
func gossipRates(start, end map[*home]gossipCount, windowS float64) *GossipReport {
	rep := &GossipReport{WindowS: round3(windowS), Topics: map[string]GossipTopicRates{}}
	var sum gossipCount
	sum.topics = map[string]mesh.TopicTraffic{}
	for h, e := range end {
		s, ok := start[h]
		if !ok || e.run != s.run { // restarted: counters began anew
			continue
		}
		rep.Homes++
		for k, t := range e.topics {
			a, b := sum.topics[k], s.topics[k]
			a.Received += t.Received - b.Received
			a.Duplicates += t.Duplicates - b.Duplicates
			a.Sent += t.Sent - b.Sent
			sum.topics[k] = a
		}
		w, b := &sum.wire, s.wire
		w.RPCsSent += e.wire.RPCsSent - b.RPCsSent
		w.RPCsReceived += e.wire.RPCsReceived - b.RPCsReceived
		w.BytesSent += e.wire.BytesSent - b.BytesSent
		w.BytesReceived += e.wire.BytesReceived - b.BytesReceived
		w.IHaveIDs += e.wire.IHaveIDs - b.IHaveIDs
		w.IWantIDs += e.wire.IWantIDs - b.IWantIDs
	}
	if rep.Homes == 0 || windowS <= 0 {
		return nil
	}
	per := func(v uint64) float64 { return round3(float64(v) / float64(rep.Homes) / windowS) }
	for k, t := range sum.topics {
		rep.Topics[k] = GossipTopicRates{Received: per(t.Received), Duplicates: per(t.Duplicates), Sent: per(t.Sent)}
	}
	w := sum.wire
	rep.RPCsSent, rep.RPCsReceived = per(w.RPCsSent), per(w.RPCsReceived)
	rep.BytesSent, rep.BytesReceived = per(w.BytesSent), per(w.BytesReceived)
	rep.IHaveIDs, rep.IWantIDs = per(w.IHaveIDs), per(w.IWantIDs)
	return rep
}
