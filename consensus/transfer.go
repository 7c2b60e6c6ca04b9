package consensus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// ErrLeadershipTransfer is wrapped in Commit's error while this member,
// the leader, is handing leadership over: nothing was committed, and the
// member it hands over to will lead (and plan) in a moment.
var ErrLeadershipTransfer = raft.ErrLeadershipTransferInProgress

// TransferLeadership hands leadership to the most up-to-date other voter
// and returns once this member has stepped down. Call it before Close on
// a graceful stop: raft's Shutdown sends no goodbye, so without it the
// others wait out a heartbeat timeout and an election before anyone
// leads. It is a no-op (nil) on a member that does not lead.
//
// A transfer fails when its target has not won within ElectionTimeout
// (a busy machine, a lost vote); TransferLeadership then tries again,
// after a HeartbeatTimeout that lets an election the failed attempt
// started finish, until ctx ends. On an error this member may still
// lead.
func (g *Group) TransferLeadership(ctx context.Context) error {
	for {
		if !g.IsLeader() {
			return nil
		}
		err := wait(ctx, g.r().LeadershipTransfer())
		if err == nil || errors.Is(err, raft.ErrNotLeader) || !g.IsLeader() {
			return nil
		}
		if errors.Is(err, raft.ErrRaftShutdown) || ctx.Err() != nil {
			return fmt.Errorf("consensus: transfer leadership: %w", err)
		}
		t := time.NewTimer(g.cfg.HeartbeatTimeout)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("consensus: transfer leadership: %w", errors.Join(err, ctx.Err()))
		case <-t.C:
		}
	}
}
