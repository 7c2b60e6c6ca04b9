package node

import (
	"context"

	"github.com/gridmesh/gridmesh/consensus"
)

// beaconer sends the leader's beacons (consensus.Group.Beacon) to the
// homes that follow plans outside the Raft configuration. Its fields are
// owned by the dispatch goroutine.
type beaconer struct {
	n     *Node
	table *telemetryTable
	// term is the term whose first beacons were sent; sent is closed
	// once they are.
	term uint64
	sent chan struct{}
}

// gained starts the first beacons of this home's term the moment it
// leads, alongside its first plan's commit: the plan goes out only
// after them (beforePublish), and a failover ends only when every home
// applies the new leader's plan.
func (b *beaconer) gained(ctx context.Context) {
	if _, term := b.n.group.Leader(); term != b.term {
		b.start(ctx, term)
	}
}

// beforePublish beacons the homes outside the configuration the
// consensus rules name (consensus.BeaconTargets), each beacon carrying
// plan (the plan's wire form, published on the topic beside it): a home
// outside the configuration has its plans from the beacons and leaves
// the plan topic (mesh.Neighborhood.SubscribePlans). The first plan of a
// term waits for the term's first beacons (at most a beacon timeout): a
// home that has not heard of the new term ignores its plans. Later
// plans do not wait: their beacons refresh what the homes know, and
// bring in homes newly heard.
func (b *beaconer) beforePublish(ctx context.Context, plan []byte) {
	_, term := b.n.group.Leader()
	if term != b.term {
		b.start(ctx, term)
	}
	if b.sent != nil {
		select {
		case <-b.sent:
		case <-ctx.Done():
		}
		b.sent = nil
	}
	go b.send(context.WithoutCancel(ctx), plan)
}

// start sends term's first beacons in the background.
func (b *beaconer) start(ctx context.Context, term uint64) {
	if b.n.group.ClusterID() == "" {
		return // named at the leader's first round of upkeep; beacons name it
	}
	b.term = term
	sent := make(chan struct{})
	b.sent = sent
	go func() {
		defer close(sent)
		b.send(context.WithoutCancel(ctx), nil)
	}()
}

// send beacons every target once, with plan (none when nil).
func (b *beaconer) send(ctx context.Context, plan []byte) {
	n := b.n
	servers, _, err := n.group.Members()
	if err != nil {
		return
	}
	cluster := n.group.ClusterID()
	now := n.now()
	targets := consensus.BeaconTargets(servers, b.table.roster(now, n.cfg.TelemetryMaxAge), cluster, n.revoked.peers(), now, n.cfg.Formation.RemoveAfter)
	if cluster == "" || len(targets) == 0 {
		return
	}
	sent, err := n.group.Beacon(ctx, targets, plan)
	n.stats.beaconsSent.Add(uint64(sent))
	if err != nil {
		n.log.Debug("beacon", "err", err)
	}
}
