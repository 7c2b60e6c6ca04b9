package node

import (
	"context"
	"time"

	"github.com/gridmesh/gridmesh/internal/backoff"
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
// process, not a home without power. It returns at once; before Ready,
// while the network restarts, or while a pause is pending, it does
// nothing.
//
// Pausing starts no timer of its own: the pauser goroutine (runPauses)
// and the held goroutines wait under Run's context, so nothing of a
// pause outlives Run.
func (n *Node) Pause(d time.Duration) {
	nw := n.up.Load()
	if nw == nil || d <= 0 || !n.pauseReq.CompareAndSwap(0, int64(d)) {
		return
	}
	select {
	case n.pauseCh <- struct{}{}:
	default: // the pauser has a request pending
	}
	if !nw.group.IsLeader() {
		n.pauseIfRequested()
	}
}

// pauseIfRequested begins a requested pause, if one is pending and no
// pause is under way. Called by Pause, by the dispatcher between a plan's
// commit and its publish, and by the pauser.
func (n *Node) pauseIfRequested() {
	nw := n.up.Load()
	if nw == nil {
		return
	}
	d := time.Duration(n.pauseReq.Swap(0))
	if d <= 0 {
		return
	}
	now := time.Now()
	cur := n.paused.Load()
	if cur != nil && now.Before(*cur) {
		return // one pause at a time
	}
	until := now.Add(d)
	if !n.paused.CompareAndSwap(cur, &until) {
		return
	}
	n.stats.pauses.Add(1)
	n.log.Warn("paused: not answering the neighborhood", "for", d)
	nw.group.Pause(d)
}

// runPauses begins a requested pause two plan periods after the request
// if nothing began it sooner (a leader that plans nothing meanwhile). It
// is one of the network's components: its wait ends with Run.
func (n *Node) runPauses(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.pauseCh:
		}
		if !backoff.Sleep(ctx, 2*n.cfg.PlanPeriod) {
			return ctx.Err()
		}
		n.pauseIfRequested()
	}
}

// hold waits while the home is paused, or until ctx ends.
func (n *Node) hold(ctx context.Context) {
	if until := n.paused.Load(); until != nil {
		if d := time.Until(*until); d > 0 {
			backoff.Sleep(ctx, d)
		}
	}
}
