package consensus_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/gridmesh/gridmesh/consensus"
)

func TestTransferLeadershipHandsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newCluster(t, 3, 1, false)
		leader := waitLeader(t, ms)
		e := commit(t, leader, "before")
		ctx, cancel := context.WithTimeout(context.Background(), settle)
		defer cancel()

		// A member that does not lead has nothing to hand over.
		for _, m := range ms {
			if m != leader {
				if err := m.g.TransferLeadership(ctx); err != nil {
					t.Errorf("TransferLeadership on follower %s: %v", m.name, err)
				}
				break
			}
		}

		if err := leader.g.TransferLeadership(ctx); err != nil {
			t.Fatalf("TransferLeadership: %v", err)
		}
		if leader.g.IsLeader() {
			t.Fatal("the old leader still leads after the transfer")
		}
		// The old leader is fenced: it can neither confirm its leadership nor
		// commit.
		var nl *consensus.NotLeaderError
		if err := leader.g.VerifyLeader(ctx); !errors.As(err, &nl) {
			t.Errorf("VerifyLeader on the old leader = %v, want *NotLeaderError", err)
		}
		if _, err := leader.g.Commit(ctx, []byte("stale")); !errors.As(err, &nl) {
			t.Errorf("Commit on the old leader = %v, want *NotLeaderError", err)
		}
		next := waitLeader(t, ms)
		if next == leader {
			t.Fatal("leadership came back to the member that handed it over")
		}
		if next.cfg.Servers[len(ms)-1].ID == next.id.String() {
			t.Fatal("a non-voter leads")
		}
		if e2 := commit(t, next, "after"); !e2.After(e) {
			t.Errorf("plan after the transfer at %v, not after %v", e2, e)
		}
	})
}
