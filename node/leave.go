package node

import (
	"context"
	"fmt"
)

// Leave prepares a graceful stop: if this home leads its neighborhood, it
// hands leadership to another voter and returns once it has stepped down,
// so the neighborhood has a new leader within a round trip instead of
// after a heartbeat timeout and an election. The caller then cancels
// Run's context. A failed transfer is retried until ctx ends; on an
// error (ctx ended first, e.g. no other voter could take over) the home
// may still lead, and stopping it is a hard kill as far as its
// neighborhood can tell. Before Ready, while the network restarts, on a
// home that does not lead, and on the only voter of its cluster (no one
// to hand over to), Leave does nothing.
func (n *Node) Leave(ctx context.Context) error {
	nw := n.up.Load()
	if nw == nil || !nw.group.IsLeader() {
		return nil
	}
	if v := n.membership(); v.ids != nil && v.voters < 2 {
		return nil
	}
	n.log.Info("leaving: handing leadership over")
	if err := nw.group.TransferLeadership(ctx); err != nil {
		return fmt.Errorf("node %s: leave: %w", n.cfg.Home, err)
	}
	return nil
}
