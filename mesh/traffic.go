package mesh

import (
	"strings"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// The kinds of topic Traffic counts by: the last element of a topic's
// name (TopicName, RegionTopic), or TopicOther.
const (
	TopicTelemetry = "telemetry"
	TopicPlan      = "plan"
	TopicRegion    = "region"
	TopicOther     = "other"
)

var topicKinds = [...]string{TopicTelemetry, TopicPlan, TopicRegion, TopicOther}

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
		c := &m.traffic.kinds[i]
		out[kind] = TopicTraffic{
			Received: c.received.Load(), Duplicates: c.duplicates.Load(),
			Sent: c.sent.Load(), SendDropped: c.dropped.Load(),
		}
	}
	return out
}

// ConnectedPeers returns how many peers the host has a connection to.
func (m *Mesh) ConnectedPeers() int { return len(m.host.Network().Peers()) }

// traffic is a gossipsub tracer that counts messages by kind of topic.
// gossipsub calls it from its own goroutines: the counters are atomics.
type traffic struct {
	self  peer.ID
	kinds [len(topicKinds)]struct {
		received, duplicates, sent, dropped atomic.Uint64
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
func (*traffic) RecvRPC(*pubsub.RPC)                                  {}
func (*traffic) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*traffic) UndeliverableMessage(*pubsub.Message)                 {}
