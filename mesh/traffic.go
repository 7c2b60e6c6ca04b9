package mesh

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"
)

// The kinds of topic Traffic counts by: the last element of a topic's
// name (TopicName, RegionTopic, AggregatesTopic), or TopicOther.
const (
	TopicTelemetry  = "telemetry"
	TopicPlan       = "plan"
	TopicRegion     = "region"
	TopicAggregates = "aggregates"
	TopicOther      = "other"
)

var topicKinds = [...]string{TopicTelemetry, TopicPlan, TopicRegion, TopicAggregates, TopicOther}

// TopicTraffic counts one kind of topic's gossip messages since the host
// opened.
type TopicTraffic struct {
	// Received counts messages from peers that entered validation (each
	// message once: duplicates are counted apart).
	Received uint64
	// Duplicates counts copies of messages already seen, dropped.
	Duplicates uint64
	// Sent counts messages queued to peers, one per peer: this home's
	// own and those it forwards.
	Sent uint64
	// SendDropped counts messages dropped before they left because a
	// peer's outbound queue was full.
	SendDropped uint64
}

// Traffic returns the gossip messages counted since the host opened, by
// kind of topic (the Topic constants; every kind is present).
func (m *Mesh) Traffic() map[string]TopicTraffic {
	out := make(map[string]TopicTraffic, len(topicKinds))
	for i, kind := range topicKinds {
		out[kind] = m.traffic.kinds[i].read()
	}
	return out
}

// TrafficOf returns the gossip messages counted since the host opened on
// topics of one kind (a Topic constant; zero for another string).
func (m *Mesh) TrafficOf(kind string) TopicTraffic {
	if i := slices.Index(topicKinds[:], kind); i >= 0 {
		return m.traffic.kinds[i].read()
	}
	return TopicTraffic{}
}

// WireTraffic counts a host's gossipsub RPCs, all topics together, since
// it opened: what its gossip costs on the wire beyond the messages
// themselves (TopicTraffic), for capacity arithmetic (docs/SCALING.md).
type WireTraffic struct {
	// RPCsSent and RPCsReceived count RPC frames; BytesSent and
	// BytesReceived their protobuf sizes (messages, subscriptions and
	// control together; Noise and yamux add ~30 bytes a frame).
	RPCsSent, RPCsReceived   uint64
	BytesSent, BytesReceived uint64
	// IHaveIDs and IWantIDs count the message IDs this host advertised
	// (IHAVE) and asked for (IWANT); Grafts and Prunes the mesh changes
	// it sent.
	IHaveIDs, IWantIDs uint64
	Grafts, Prunes     uint64
}

// Wire returns the gossipsub RPCs counted since the host opened.
func (m *Mesh) Wire() WireTraffic {
	w := &m.traffic.wire
	return WireTraffic{
		RPCsSent: w.rpcsSent.Load(), RPCsReceived: w.rpcsReceived.Load(),
		BytesSent: w.bytesSent.Load(), BytesReceived: w.bytesReceived.Load(),
		IHaveIDs: w.ihave.Load(), IWantIDs: w.iwant.Load(),
		Grafts: w.grafts.Load(), Prunes: w.prunes.Load(),
	}
}

// ConnectedPeers returns how many peers the host has a connection to.
func (m *Mesh) ConnectedPeers() int { return len(m.host.Network().Peers()) }

// traffic is a gossipsub tracer that counts messages by kind of topic.
// gossipsub calls it from its own goroutines: the counters are atomics.
type traffic struct {
	self  peer.ID
	kinds [len(topicKinds)]kindCounters
	wire  struct {
		rpcsSent, rpcsReceived, bytesSent, bytesReceived atomic.Uint64
		ihave, iwant, grafts, prunes                     atomic.Uint64
	}
}

// kindCounters count one kind of topic's messages.
type kindCounters struct {
	received, duplicates, sent, dropped atomic.Uint64
}

func (c *kindCounters) read() TopicTraffic {
	return TopicTraffic{
		Received: c.received.Load(), Duplicates: c.duplicates.Load(),
		Sent: c.sent.Load(), SendDropped: c.dropped.Load(),
	}
}

var _ pubsub.RawTracer = (*traffic)(nil)

func newTraffic(self peer.ID) *traffic { return &traffic{self: self} }

// kind returns the index in topicKinds of topic's kind.
func kind(topic string) int {
	last := topic[strings.LastIndexByte(topic, '/')+1:]
	for i, k := range topicKinds[:len(topicKinds)-1] {
		if last == k {
			return i
		}
	}
	return len(topicKinds) - 1
}

func (t *traffic) ValidateMessage(msg *pubsub.Message) {
	if msg.ReceivedFrom != t.self {
		t.kinds[kind(msg.GetTopic())].received.Add(1)
	}
}

func (t *traffic) DuplicateMessage(msg *pubsub.Message) {
	t.kinds[kind(msg.GetTopic())].duplicates.Add(1)
}

func (t *traffic) SendRPC(rpc *pubsub.RPC, _ peer.ID) {
	for _, m := range rpc.GetPublish() {
		t.kinds[kind(m.GetTopic())].sent.Add(1)
	}
	w := &t.wire
	w.rpcsSent.Add(1)
	w.bytesSent.Add(uint64(proto.Size(&rpc.RPC)))
	if c := rpc.GetControl(); c != nil {
		for _, ih := range c.GetIhave() {
			w.ihave.Add(uint64(len(ih.GetMessageIDs())))
		}
		for _, iw := range c.GetIwant() {
			w.iwant.Add(uint64(len(iw.GetMessageIDs())))
		}
		w.grafts.Add(uint64(len(c.GetGraft())))
		w.prunes.Add(uint64(len(c.GetPrune())))
	}
}

func (t *traffic) RecvRPC(rpc *pubsub.RPC) {
	t.wire.rpcsReceived.Add(1)
	t.wire.bytesReceived.Add(uint64(proto.Size(&rpc.RPC)))
}

func (t *traffic) DropRPC(rpc *pubsub.RPC, _ peer.ID) {
	for _, m := range rpc.GetPublish() {
		t.kinds[kind(m.GetTopic())].dropped.Add(1)
	}
}

// The events traffic does not count.

func (*traffic) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*traffic) OnClosedOutboundStream(peer.ID)                       {}
func (*traffic) Join(string)                                          {}
func (*traffic) Leave(string)                                         {}
func (*traffic) Graft(peer.ID, string)                                {}
func (*traffic) Prune(peer.ID, string)                                {}
func (*traffic) DeliverMessage(*pubsub.Message)                       {}
func (*traffic) RejectMessage(*pubsub.Message, string)                {}
func (*traffic) ThrottlePeer(peer.ID)                                 {}
func (*traffic) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*traffic) UndeliverableMessage(*pubsub.Message)                 {}
