package mesh

import (
	"context"
	"errors"
	"strings"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Nothing before admission. With admission on, gossipsub never exchanges
// a byte with a peer until this home has judged it:
//
//   - gatedHost is the host gossipsub is given. Its NewStream (gossipsub's
//     only way to send to a peer) and the handlers gossipsub registers
//     (its only way to read from one) wait until the peer is cleared (see
//     Mesh.Cleared), and fail or reset the stream if it is refused, drops
//     or is still unjudged after the admission timeout. A stranger thus
//     never gets a gossipsub stream: not a message, not a subscription
//     list, not an IHAVE, and nothing it sends is read.
//   - subscriptionGate drops a peer's subscriptions to this
//     neighborhood's topics unless the peer is admitted: a region peer
//     (another neighborhood's member, an operator) gets region messages
//     and nothing of the neighborhood, not even by flood publishing,
//     which pays no heed to the peer filter.
//   - peerFilter keeps any peer not cleared for a topic out of its mesh,
//     its gossip (IHAVE/IWANT) and its fanout.
//
// A peer refused later (a revoked member, an expired certificate) is
// disconnected and kept out by the connection gater, which ends its
// gossipsub streams with the connection.

// gatePoll is how often a stream waiting for its peer's verdict looks
// again whether the peer is still connected. The verdict itself wakes
// the stream at once (admission.changes), so a cleared peer does not
// wait for a poll. Why 250 ms: on an overloaded machine hundreds of
// streams wait for verdicts for seconds, and polling each at 5 ms was
// load of its own; a stream of a peer gone meanwhile is reset a quarter
// of a second later, which costs nothing.
const gatePoll = 250 * time.Millisecond

// gateWait bounds how long a gossip stream waits for its peer's verdict.
// A stranger is refused (and its wait ends) after the admission timeout;
// a peer of another neighborhood is never refused, and its certificate,
// presented as it connects, may arrive seconds late on an overloaded
// machine: a wait that gave up at the admission timeout would leave that
// link without region gossip for as long as it lasts (gossipsub does not
// retry a peer it failed to open a stream to). Past 30 s, a peer of a
// neighborhood whose key this home lacks holds a goroutine no longer.
const gateWait = 30 * time.Second

// errNotCleared is what gossipsub's NewStream gets for a peer that was
// not cleared in time.
var errNotCleared = errors.New("mesh: peer not admitted")

// Cleared reports whether gossip may flow with peer p at all: with
// admission off, always; on, if p is an admitted member or a region peer
// whose certificate (another neighborhood's, checked against
// Config.Region.NeighborhoodKeys, or an operator's pass, checked against
// Config.Region.OperatorKeys) verified.
func (m *Mesh) Cleared(p peer.ID) bool {
	return m.Admitted(p) || m.adm.isGuest(p)
}

// awaitCleared reports whether p is cleared, waiting for that until ctx
// ends, p is refused or disconnects, or gateWait has passed.
func (m *Mesh) awaitCleared(ctx context.Context, p peer.ID) bool {
	if m.Cleared(p) {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, gateWait)
	defer cancel()
	tick := time.NewTicker(gatePoll)
	defer tick.Stop()
	for {
		// The channel is taken before the checks: a verdict landing
		// between a check and the wait closes it, so it is not missed
		// until the next poll.
		changed := m.adm.changes()
		switch {
		case m.Cleared(p):
			return true
		case m.adm.isBlocked(p), m.host.Network().Connectedness(p) != network.Connected:
			return false
		}
		select {
		case <-ctx.Done():
			return m.Cleared(p)
		case <-changed:
		case <-tick.C:
		}
	}
}

// gatedHost is the host gossipsub runs on when admission is on (see
// above). Everything but opening and accepting streams passes through.
type gatedHost struct {
	host.Host
	m *Mesh
}

// NewStream opens a stream to p once p is cleared.
func (g gatedHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	if !g.m.awaitCleared(ctx, p) {
		return nil, errNotCleared
	}
	return g.Host.NewStream(ctx, p, pids...)
}

// SetStreamHandler registers h behind the gate.
func (g gatedHost) SetStreamHandler(pid protocol.ID, h network.StreamHandler) {
	g.Host.SetStreamHandler(pid, g.gate(h))
}

// SetStreamHandlerMatch registers h behind the gate.
func (g gatedHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, h network.StreamHandler) {
	g.Host.SetStreamHandlerMatch(pid, match, g.gate(h))
}

// gate hands a stream to h once its peer is cleared, and resets it
// otherwise, unread.
func (g gatedHost) gate(h network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !g.m.awaitCleared(g.m.gossipCtx, s.Conn().RemotePeer()) {
			_ = s.Reset()
			return
		}
		h(s)
	}
}

// isNeighborhoodTopic reports whether topic is one of a neighborhood's
// topics in this deployment.
func (m *Mesh) isNeighborhoodTopic(topic string) bool {
	return strings.HasPrefix(topic, "/gridmesh/"+m.cfg.Network+"/nbhd/")
}

// peerFilter is gossipsub's peer filter: a neighborhood's topics are for
// admitted members, every other topic for cleared peers.
func (m *Mesh) peerFilter(p peer.ID, topic string) bool {
	if m.isNeighborhoodTopic(topic) {
		return m.Admitted(p)
	}
	return m.Cleared(p)
}

// subscriptionGate is gossipsub's subscription filter (see above).
type subscriptionGate struct{ m *Mesh }

var _ pubsub.SubscriptionFilter = subscriptionGate{}

// CanSubscribe lets this home subscribe to anything it joins.
func (subscriptionGate) CanSubscribe(string) bool { return true }

// FilterIncomingSubscriptions drops p's subscriptions to neighborhood
// topics unless p is admitted.
func (g subscriptionGate) FilterIncomingSubscriptions(p peer.ID, subs []*pb.RPC_SubOpts) ([]*pb.RPC_SubOpts, error) {
	if g.m.Admitted(p) {
		return subs, nil
	}
	out := subs[:0:0]
	for _, s := range subs {
		if !g.m.isNeighborhoodTopic(s.GetTopicid()) {
			out = append(out, s)
		}
	}
	return out, nil
}

// gossipOptions returns the gossipsub options that put the gate in
// place, and the host gossipsub is to run on.
func (m *Mesh) gossipGate() (host.Host, []pubsub.Option) {
	if m.adm == nil {
		return m.host, nil
	}
	return gatedHost{Host: m.host, m: m}, []pubsub.Option{
		pubsub.WithPeerFilter(m.peerFilter),
		pubsub.WithSubscriptionFilter(subscriptionGate{m}),
	}
}
