package node_test

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node"
)

// failoverKills is how many leaders BenchmarkLeaderFailover kills. Why
// 50: enough kills for a p99 that is not just the maximum of a few; lower it
// for a quick look (-failover.kills 5).
var failoverKills = flag.Int("failover.kills", 50, "leader kills in BenchmarkLeaderFailover")

// failoverSelfOrganized runs BenchmarkLeaderFailover on a neighborhood
// that organized itself (no configured voters) instead of three
// configured voters.
var failoverSelfOrganized = flag.Bool("failover.selforganized", false, "BenchmarkLeaderFailover on a self-organized neighborhood")

// failoverWAN runs BenchmarkLeaderFailover with the WAN timing a home
// file's raft: {timing: wan} sets.
var failoverWAN = flag.Bool("failover.wan", false, "BenchmarkLeaderFailover with WAN timing (1 s Raft timeouts, 6 s plan lease)")

// BenchmarkLeaderFailover kills the leader of a neighborhood of five
// homes (three voters, two non-voters; durable DataDirs; the default
// timings) -failover.kills times, hard, and reports the failover time
// (kill → every surviving home applies a plan of a newer term) and how
// many homes' plan leases ran out during a failover. Each round restarts
// the killed home from its DataDir and waits until it follows the
// current plan before the next kill. It also reports cold start → every
// home applies its first plan, once, on the same homes.
//
// It runs the whole experiment once whatever b.N (a run takes minutes);
// run it with
//
//	go test -run '^$' -bench LeaderFailover -benchtime 1x ./node/
func BenchmarkLeaderFailover(b *testing.B) {
	voters := 3
	if *failoverSelfOrganized {
		voters = 0
	}
	c := newCluster(b, 5, voters, benchConfig(), true)
	c.useTCP()
	t0 := c.clock()
	for i := range 5 {
		c.start(i)
	}
	cold := time.Duration(0)
	eventually(b, "every home's first plan", 60*time.Second, func() bool {
		for i := range 5 {
			at, ok := c.rec.first(fmt.Sprintf("h%d", i))
			if !ok {
				return false
			}
			cold = max(cold, at.Sub(t0))
		}
		return true
	})
	c.awaitFollowing(0, 0, c.homes[0].n.Status().CommittedEpoch, 60*time.Second)

	var took []float64
	lost, rounds := 0, 0
	for range *failoverKills {
		lead := c.leader(30 * time.Second)
		before := c.homes[lead].n.Status()
		at := c.clock()
		c.stop(lead)
		f := c.awaitFailover(at, before.Term, 60*time.Second)
		took = append(took, float64(f.took)/float64(time.Millisecond))
		lost += len(f.lost)
		if len(f.lost) > 0 {
			rounds++
			b.Logf("kill %d: homes %v lost their plan", len(took), f.lost)
		}
		c.start(lead)
		c.awaitFollowing(lead, f.term, before.CommittedEpoch, 60*time.Second)
	}

	p50, p99, worst := quantile(took, 0.50), quantile(took, 0.99), slices.Max(took)
	b.ReportMetric(p50, "failover_p50_ms")
	b.ReportMetric(p99, "failover_p99_ms")
	b.ReportMetric(worst, "failover_max_ms")
	b.ReportMetric(float64(lost), "homes_lost_plan")
	b.ReportMetric(float64(cold)/float64(time.Millisecond), "cold_start_ms")
	b.ReportMetric(0, "ns/op") // one experiment, not b.N operations
	how := "3 configured voters"
	if voters == 0 {
		how = "self-organized"
	}
	b.Logf("%d kills of the leader of 5 homes (%s): failover p50 %.0f ms, p99 %.0f ms, max %.0f ms; "+
		"%d home-failovers lost a plan (in %d kills); cold start → every home's first plan %.0f ms",
		len(took), how, p50, p99, worst, lost, rounds, float64(cold)/float64(time.Millisecond))
}

// benchConfig is the default timings, on the test network.
func benchConfig() node.Config {
	c := node.DefaultConfig()
	c.Mesh.Network = "test"
	if *failoverWAN {
		c.UseWANTiming()
	}
	return c
}

// quantile returns the q-quantile of xs (nearest rank).
func quantile(xs []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
