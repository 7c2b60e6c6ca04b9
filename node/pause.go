package node

import (
	"context"
	"time"
)

// Pause makes the home stop answering its neighborhood for d, as if its
// process had been stopped (SIGSTOP) and continued: for fault tests and
// the testnet's pause-leader scenario. On a leader the pause begins at
// the worst moment, between confirming its leadership for a plan and
// publishing it, so the plan goes out only after the pause, when another
// home may lead a newer term; on any other home (or if the leader plans
// nothing within two plan periods) it begins at once. While paused, the
// home's Raft streams, its gossip intake and its publishers are held.
// Its device loop keeps running: the pause models a stalled node
// process, not a home without power. It returns at once.
func (n *Node) Pause(d time.Duration) {
	select {
	case <-n.ready:
	default:
		return
	}
	if d <= 0 || !n.pauseReq.CompareAndSwap(0, int64(d)) {
		return
	}
	time.AfterFunc(2*n.cfg.PlanPeriod, func() { n.pauseIfRequested() })
	if !n.group.IsLeader() {
		n.pauseIfRequested()
	}
}

// pauseIfRequested starts a requested pause, if one is pending.
func (n *Node) pauseIfRequested() {
	d := time.Duration(n.pauseReq.Swap(0))
	if d <= 0 {
		return
	}
	gate := make(chan struct{})
	if !n.paused.CompareAndSwap(nil, &gate) {
		return
	}
	n.stats.pauses.Add(1)
	n.log.Warn("paused: not answering the neighborhood", "for", d)
	n.group.Pause(d)
	time.AfterFunc(d, func() {
		n.paused.Store(nil)
		close(gate)
		n.log.Warn("resumed")
	})
}

// hold waits while the home is paused, or until ctx ends.
func (n *Node) hold(ctx context.Context) {
	if p := n.paused.Load(); p != nil {
		select {
		case <-*p:
		case <-ctx.Done():
		}
	}
}
