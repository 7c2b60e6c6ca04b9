package node_test

import (
	"strings"
	"testing"
	"time"
)

// A home stopped hard and started again on the same key and DataDir
// resumes its Raft state instead of bootstrapping again, catches up
// without losing a committed plan, and follows the current leader's
// plans: the leader (whose log is the newest) and a non-voter alike.
func TestDurableRestartRejoins(t *testing.T) { inBubble(t, testDurableRestartRejoins) }

func testDurableRestartRejoins(t *testing.T) {
	c := newCluster(t, 4, 3, fastConfig(), true)
	for i := range 4 {
		c.start(i)
	}
	c.awaitFollowing(0, 0, c.homes[0].n.Status().CommittedEpoch, 30*time.Second)

	for _, who := range []string{"leader", "non-voter"} {
		i := 3
		if who == "leader" {
			i = c.leader(10 * time.Second)
		}
		before := c.homes[i].n.Status()
		if before.CommittedEpoch.Term == 0 {
			t.Fatalf("%s h%d has no plan in its log before the stop", who, i)
		}
		c.stop(i)
		term := before.Term
		if who == "leader" {
			f := c.awaitFailover(c.clock(), before.Term, 30*time.Second)
			term = f.term
		}
		c.start(i)
		c.awaitFollowing(i, term, before.CommittedEpoch, 30*time.Second)
		after := c.homes[i].n.Status()
		t.Logf("%s h%d: log at %v before the stop, %v after catching up; follows %v", who, i, before.CommittedEpoch, after.CommittedEpoch, after.PlanEpoch)

		log := c.logs[i].String()
		if n := strings.Count(log, "bootstrapped raft group"); n != 1 {
			t.Errorf("%s h%d bootstrapped %d times, want once", who, i, n)
		}
		if !strings.Contains(log, "resuming raft group from stored state") {
			t.Errorf("%s h%d did not resume its stored raft state", who, i)
		}
	}
}
