package node

import (
	"context"
	"time"

	"github.com/gridmesh/gridmesh/consensus"
)

// beaconer sends the leader's beacons (consensus.Group.Beacon) to the
// homes that follow plans outside the Raft configuration, before each
// plan goes out. Its fields are owned by the dispatch goroutine.
type beaconer struct {
	n     *Node
	table *telemetryTable
	// term is the term whose first beacons were sent and waited for.
	term uint64
}

// beforePublish beacons the homes outside the configuration the
// consensus rules name (consensus.BeaconTargets). The first plan of a
// term waits for its beacons (at most a beacon timeout): a home that
// has not heard of the new term ignores its plans, and a failover ends
// only when every home applies the new leader's plan. Later plans do
// not wait: their beacons refresh what the homes know, and bring in
// homes newly heard.
func (b *beaconer) beforePublish(ctx context.Context, now time.Time) {
	n := b.n
	servers, _, err := n.group.Members()
	if err != nil {
		return
	}
	cluster := n.group.ClusterID()
	if cluster == "" {
		return // named at the leader's first round of upkeep; beacons name it
	}
	targets := consensus.BeaconTargets(servers, b.table.roster(now, n.cfg.TelemetryMaxAge), cluster, n.revoked.peers(), now, n.cfg.Formation.RemoveAfter)
	n.log.Debug("beacons", "targets", len(targets), "members", len(servers))
	if len(targets) == 0 {
		return
	}
	_, term := n.group.Leader()
	send := func(ctx context.Context) {
		sent, err := n.group.Beacon(ctx, targets)
		n.stats.beaconsSent.Add(uint64(sent))
		if err != nil {
			n.log.Debug("beacon", "err", err)
		}
	}
	if term != b.term {
		b.term = term
		send(ctx)
		return
	}
	go send(context.WithoutCancel(ctx))
}
