package mesh

import (
	"context"
	"errors"
	"fmt"
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

// The leaders-only path. A neighborhood's aggregate is read by the
// region's leaders alone (to split a signal), yet on a topic every home
// joins each home would receive, check and forward all of them: N/5 a
// second at N neighborhoods, ~0.4 ms of CPU each (docs/SCALING.md), the
// largest cost a home has in a large region. So aggregates travel on a
// topic of their own that a home joins while it leads its neighborhood
// and leaves when it stops; signals stay on the region topic every home
// joins. Both topics carry RegionMessage and are judged by the same
// rules (admission certificates, the per-author rate, freshness); a
// message of the wrong kind on either is refused and counted.

// AggregatesTopic returns the gossip topic of a deployment's neighborhood
// aggregates, which only leaders (and an operator that listens) join.
func AggregatesTopic(network string) string { return "/gridmesh/" + network + "/" + TopicAggregates }

// Aggregates is a leader's handle on the aggregates topic, opened by
// Region.JoinAggregates. Its methods are safe for concurrent use.
type Aggregates struct {
	r     *Region
	topic *pubsub.Topic
	sub   *pubsub.Subscription

	closeOnce sync.Once
	closeE    error
}

// JoinAggregates joins the aggregates topic, registers its validator
// (the region's rules: aggregates only) and subscribes. One handle may be
// open at a time; Close it before joining again (a home that stops leading
// leaves the topic) and before the Region.
func (r *Region) JoinAggregates() (*Aggregates, error) {
	name := AggregatesTopic(r.m.cfg.Network)
	validate := func(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		return r.validateOn(true, msg)
	}
	if err := r.m.ps.RegisterTopicValidator(name, pubsub.ValidatorEx(validate), pubsub.WithValidatorInline(true)); err != nil {
		return nil, fmt.Errorf("mesh: join aggregates: %w", err)
	}
	a := &Aggregates{r: r}
	var err error
	if a.topic, err = r.m.ps.Join(name); err == nil {
		err = a.topic.SetScoreParams(topicScoreParams())
	}
	if err == nil {
		a.sub, err = a.topic.Subscribe(pubsub.WithBufferSize(r.m.cfg.InboxSize))
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("mesh: join aggregates: %w", err), a.Close())
	}
	return a, nil
}

// Publish sends this leader's aggregate to the region's leaders, with
// this home's certificate when admission is on. This home's own validator
// judges it first.
func (a *Aggregates) Publish(ctx context.Context, agg gridmesh.Aggregate) error {
	msg := RegionMessage{Version: gridmesh.WireVersion, Aggregate: &agg}
	if adm := a.r.m.adm; adm != nil {
		own := adm.ownCert()
		msg.Membership = &own
	}
	return publishRegion(ctx, a.topic, msg, "aggregate of "+string(agg.Neighborhood))
}

// Next returns the next aggregate accepted (this home's own included),
// as a RegionMessage, and its author.
func (a *Aggregates) Next(ctx context.Context) (RegionMessage, peer.ID, error) {
	return a.r.next(ctx, a.sub)
}

// Peers returns the connected peers known to subscribe to the aggregates
// topic: the leaders this one gossips with.
func (a *Aggregates) Peers() []peer.ID { return a.topic.ListPeers() }

// Close cancels the subscription, leaves the topic and removes its
// validator, so that the topic can be joined again. It is idempotent.
func (a *Aggregates) Close() error {
	a.closeOnce.Do(func() {
		if a.r.m.gossipCtx.Err() != nil {
			return
		}
		if a.sub != nil {
			a.sub.Cancel()
		}
		var err error
		if a.topic != nil {
			err = a.topic.Close()
		}
		_ = a.r.m.ps.UnregisterTopicValidator(AggregatesTopic(a.r.m.cfg.Network))
		for _, p := range a.r.m.host.Network().Peers() {
			a.r.m.host.ConnManager().Unprotect(p, leaderTag) // FindLeaders's
		}
		if err != nil {
			a.closeE = fmt.Errorf("mesh: close aggregates: %w", err)
		}
	})
	return a.closeE
}
