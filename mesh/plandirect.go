package mesh

import (
	"context"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

// Plans from the leader's beacon. A leader beacons every home outside
// its Raft configuration with every plan (package consensus), and the
// beacon carries the plan: one frame on a stream from the leader,
// authenticated by the connection, where the plan topic gives each home
// the plan and about two duplicates, each copy framed, encrypted and
// the first one's signature checked. A home that has its plans from
// beacons leaves the plan topic (SubscribePlans); one whose beacons stop
// joins it again (package node decides when). The topic stays what
// members (voters, standbys, the leader) and any home without beacons
// use, and what a home falls back to.

// receivedPlan is a plan NextPlan returns and its author.
type receivedPlan struct {
	p    gridmesh.Plan
	from peer.ID
}

// planDirect counts the plans that came on beacons.
type planDirect struct {
	received, dropped atomic.Uint64
	last              atomic.Int64 // Unix ns of the newest accepted
}

// SubscribePlans subscribes to the plan topic (on) or cancels the
// subscription (off); a no-op when already so. A home that has its plans
// from the leader's beacons (DeliverPlan) need not receive the topic's
// copies of them.
func (n *Neighborhood) SubscribePlans(on bool) error {
	return n.toggle(&n.planSub, on, n.plan, "plans", func(ctx context.Context, s *pubsub.Subscription) {
		pump(ctx, s, n.plans, DecodePlan, func(p gridmesh.Plan, from peer.ID) receivedPlan { return receivedPlan{p: p, from: from} })
	})
}

// PlansSubscribed reports whether this home subscribes to the plan topic.
func (n *Neighborhood) PlansSubscribed() bool {
	n.subMu.Lock()
	defer n.subMu.Unlock()
	return n.planSub.sub != nil
}

// DeliverPlan takes a plan (its wire form) that a beacon from peer from
// carried, once the beacon was taken, and queues it for NextPlan when
// it passes the plan topic's own judgement: it decodes, is valid, is of
// this neighborhood, and from is the leader of its term as this home's
// LeaderView says. A refused plan is counted (Rejections) and returned
// as an error; a plan that finds the queue full is dropped and counted
// (PlanTraffic): the leader sends a newer one every period.
func (n *Neighborhood) DeliverPlan(from peer.ID, raw []byte) error {
	refuse := func(reason string) error {
		n.m.rejections.add(reason)
		n.m.log.Debug("plan on a beacon refused", "reason", reason, "author", from.String())
		return &RefusedError{Reason: reason}
	}
	if len(raw) > MaxMessageBytes {
		return refuse(ReasonUndecodable)
	}
	p, err := DecodePlan(raw)
	if err != nil {
		return refuse(decodeReason(err))
	}
	if p.Neighborhood != n.id {
		return refuse(ReasonWrongNeighborhood)
	}
	if o, ok := n.leaders.(PlanObserver); ok {
		o.ObservePlan(from, p.Epoch)
	}
	leader, term := n.leaders.Leader()
	if verdict, reason := judgePlan(p, from, leader, term); verdict != pubsub.ValidationAccept {
		return refuse(reason)
	}
	n.planDirect.received.Add(1)
	n.planDirect.last.Store(time.Now().UnixNano())
	select {
	case n.plans <- receivedPlan{p: p, from: from}:
	default:
		n.planDirect.dropped.Add(1)
	}
	return nil
}

// PlanTraffic is what the leader's beacons brought this home.
type PlanTraffic struct {
	// Received counts plans accepted from beacons; Dropped those of them
	// that found NextPlan's queue full.
	Received, Dropped uint64
	// Last is when the newest was accepted (zero: never).
	Last time.Time
}

// PlanTraffic returns the counts of plans that came on beacons.
func (n *Neighborhood) PlanTraffic() PlanTraffic {
	t := PlanTraffic{Received: n.planDirect.received.Load(), Dropped: n.planDirect.dropped.Load()}
	if ns := n.planDirect.last.Load(); ns != 0 {
		t.Last = time.Unix(0, ns)
	}
	return t
}
