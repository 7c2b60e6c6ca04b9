package node_test

import (
	"context"
	"testing"
	"time"
)

// A leader that Leaves before it stops hands over at once: no home goes
// without a plan, and the neighborhood follows the next leader sooner
// than after a hard kill, which must wait out a heartbeat timeout and an
// election.
func TestLeaveHandsOverFasterThanAHardKill(t *testing.T) {
	inBubble(t, testLeaveHandsOverFasterThanAHardKill)
}

func testLeaveHandsOverFasterThanAHardKill(t *testing.T) {
	// Five voters, so a quorum survives both exits; a non-voter to see
	// that homes that do not vote follow the new leader too.
	c := newCluster(t, 6, 5, fastConfig(), false)
	for i := range 6 {
		c.start(i)
	}
	c.awaitFollowing(0, 0, c.homes[0].n.Status().CommittedEpoch, 30*time.Second)

	exit := func(graceful bool) failover {
		t.Helper()
		lead := c.leader(10 * time.Second)
		term := c.homes[lead].n.Status().Term
		at := c.clock()
		if graceful {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.homes[lead].n.Leave(ctx); err != nil {
				t.Fatalf("Leave: %v", err)
			}
			if c.homes[lead].n.Status().IsLeader {
				t.Fatal("the home still leads after Leave")
			}
		}
		c.stop(lead)
		return c.awaitFailover(at, term, 30*time.Second)
	}
	graceful := exit(true)
	hard := exit(false)
	t.Logf("failover after Leave %v, after a hard kill %v", graceful.took, hard.took)
	if len(graceful.lost) > 0 {
		t.Errorf("homes %v lost their plan during a graceful handover", graceful.lost)
	}
	if graceful.took >= hard.took {
		t.Errorf("failover after Leave took %v, not shorter than a hard kill's %v", graceful.took, hard.took)
	}
	// A home that does not lead has nothing to hand over.
	_, live := c.live()
	for _, i := range live {
		if !c.homes[i].n.Status().IsLeader {
			if err := c.homes[i].n.Leave(context.Background()); err != nil {
				t.Errorf("Leave on follower h%d: %v", i, err)
			}
			break
		}
	}
}
