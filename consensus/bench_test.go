package consensus_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCommit measures one plan committed by the leader of three
// voters over libp2p streams on 127.0.0.1: in memory (the testnet's
// stores) and durable (raft-boltdb with fsync, a real home's).
func BenchmarkCommit(b *testing.B) {
	for _, durable := range []bool{false, true} {
		name := "inmem"
		if durable {
			name = "boltdb"
		}
		b.Run(name, func(b *testing.B) {
			ms := newHostCluster(b, 3, 0, durable)
			leader := waitLeader(b, ms)
			body := make([]byte, 1024) // a plan for ~40 homes
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := leader.g.Commit(ctx, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// neighborhoodConfigs are the two Raft configurations of a 25-home
// neighborhood the benchmarks compare: every home a member (3 voters, 22
// non-voters), and 3 voters with 2 standbys, the 20 other homes beaconed.
var neighborhoodConfigs = []struct {
	name              string
	nonVoters, beacon int
}{{"all-members", 22, 0}, {"two-standbys", 2, 20}}

// BenchmarkNeighborhoodSecond measures the CPU a 25-home neighborhood's
// Raft group spends on one second of steady state: the leader commits
// one plan (the dispatch period) and heartbeats every member, over
// libp2p streams on 127.0.0.1, every member in this process. With every
// home a member (22 non-voters: the configuration before standbys), the
// leader heartbeats 24 followers; with 2 standbys it heartbeats 4 and
// beacons the 20 homes outside once. It reports the process's CPU time
// (user + system, getrusage) per neighborhood-second: robust to other
// load on the machine, unlike wall time.
func BenchmarkNeighborhoodSecond(b *testing.B) {
	for _, c := range neighborhoodConfigs {
		b.Run(c.name, func(b *testing.B) {
			ms := newHostNeighborhood(b, 3+c.nonVoters, c.beacon)
			leader := waitLeader(b, ms[:3+c.nonVoters])
			ctx := context.Background()
			if _, err := leader.g.NameCluster(ctx, "0001-a"); err != nil {
				b.Fatal(err)
			}
			outside := ids(ms[3+c.nonVoters:])
			body := make([]byte, 1024) // a plan for ~40 homes
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				if _, err := leader.g.Commit(ctx, body); err != nil {
					b.Fatal(err)
				}
				if len(outside) > 0 {
					if _, err := leader.g.Beacon(ctx, outside, nil); err != nil {
						b.Fatal(err)
					}
				}
				time.Sleep(time.Second)
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/s")
		})
	}
}

// newHostNeighborhood opens members (3 voters, the rest non-voters) and
// outside homes with no Raft state, on libp2p hosts of 127.0.0.1.
func newHostNeighborhood(tb testing.TB, members, outside int) []*member {
	tb.Helper()
	ids, place := onHosts(tb, members+outside)
	ms := newMembers(tb, ids[:members], 3, false, place)
	return openAll(tb, append(ms, newMembers(tb, ids[members:], 0, false, place)...))
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNeighborhoodHeap measures the heap a 25-home neighborhood's
// Raft groups hold in steady state, every member in this process on
// libp2p hosts of 127.0.0.1, in the two configurations of
// BenchmarkNeighborhoodSecond: live heap after a GC with the groups open
// and ten plans committed (beacons sent), less the same with the hosts
// alone. Every stream raft pools (leader to each follower) and every
// stream it serves is open by then. It reports bytes per neighborhood;
// divide by 25 for a home.
func BenchmarkNeighborhoodHeap(b *testing.B) {
	for _, c := range neighborhoodConfigs {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				members := 3 + c.nonVoters
				ids, place := onHosts(b, members+c.beacon)
				before := liveHeap()
				ms := newMembers(b, ids[:members], 3, false, place)
				ms = openAll(b, append(ms, newMembers(b, ids[members:], 0, false, place)...))
				b.ReportMetric(float64(steadyHeap(b, ms, members)-before), "heap-B/neighborhood")
				for _, m := range ms {
					_ = m.g.Close()
				}
			}
		})
	}
}

// steadyHeap names the cluster and commits ten plans on the leader of
// ms[:members], beaconing the rest, and returns the live heap.
func steadyHeap(b *testing.B, ms []*member, members int) int64 {
	leader := waitLeader(b, ms[:members])
	ctx := context.Background()
	if _, err := leader.g.NameCluster(ctx, "0001-a"); err != nil {
		b.Fatal(err)
	}
	outside := ids(ms[members:])
	body := make([]byte, 1024)
	for range 10 {
		if _, err := leader.g.Commit(ctx, body); err != nil {
			b.Fatal(err)
		}
		if len(outside) > 0 {
			if _, err := leader.g.Beacon(ctx, outside, nil); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return liveHeap()
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return int64(s.HeapInuse)
}
