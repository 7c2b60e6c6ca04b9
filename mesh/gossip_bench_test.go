package mesh_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// BenchmarkNeighborhoodTelemetry measures what a neighborhood's
// telemetry costs the process that runs all its homes: 25 hosts on TCP
// loopback, each connected to every other, each publishing one report a
// round (a round every 250 ms: each author's rate limit is 4 a second)
// and subscribed to everyone's. An op is one round: 25 reports, each
// delivered to 24 homes. Reported per delivery: the CPU time of the
// whole process (user and system, from getrusage, so it does not grow
// with other load on the machine the way ns/op does; gossipsub's
// heartbeats in the pauses count too), and the duplicate copies each
// delivery cost the receivers (gossipsub's mesh forwarding what flood
// publishing already delivered) and the RPC frames sent per delivery
// (each a yamux frame, a Noise seal and a write at the sender, the
// reverse at the receiver): the two counts do not depend on the
// machine's load.
func BenchmarkNeighborhoodTelemetry(b *testing.B) {
	const homes = 25
	cfg := meshtest.Config()
	cfg.GossipHeartbeat = mesh.DefaultConfig().GossipHeartbeat // the product's
	hosts := make([]*mesh.Mesh, homes)
	nbs := make([]*mesh.Neighborhood, homes)
	view := meshtest.NewLeaders("", 0)
	var delivered atomic.Int64   // every report from another home
	var bySeq [4096]atomic.Int64 // the same, by the round that sent it
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for i := range hosts {
		hosts[i] = meshtest.Open(b, cfg)
		meshtest.Run(b, hosts[i])
		for _, other := range hosts[:i] {
			meshtest.Connect(b, hosts[i].Host(), other.Host())
		}
		n, err := hosts[i].JoinNeighborhood(nbhd, view, true)
		if err != nil {
			b.Fatal(err)
		}
		nbs[i] = n
		self := hosts[i].ID()
		wg.Go(func() {
			for {
				t, author, err := n.NextTelemetry(ctx)
				if err != nil {
					return
				}
				if author != self {
					delivered.Add(1)
					bySeq[t.Seq%uint64(len(bySeq))].Add(1)
				}
			}
		})
	}
	seq := uint64(0)
	round := func() {
		seq++
		for i, n := range nbs {
			if err := n.PublishTelemetry(ctx, telemetry(gridmesh.HomeID(fmt.Sprintf("h%02d", i)), nbhd, seq)); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(250 * time.Millisecond) // the authors' rate limit
	}
	// Warm up until a round reaches every home from every home: the
	// subscriptions have spread and the meshes formed.
	deadline := time.Now().Add(meshtest.Timeout)
	for {
		round()
		last := bySeq[seq%uint64(len(bySeq))].Load()
		if last == homes*(homes-1) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("a round still makes %d of %d deliveries", last, homes*(homes-1))
		}
	}
	dup0, rpc0, cpu0, got0 := duplicates(hosts), rpcsSent(hosts), processCPU(), delivered.Load()
	b.ResetTimer()
	for b.Loop() {
		round()
	}
	b.StopTimer()
	want := got0 + int64(b.N*homes*(homes-1))
	for delivered.Load() < want && time.Now().Before(deadline.Add(meshtest.Timeout)) {
		time.Sleep(10 * time.Millisecond)
	}
	got := delivered.Load() - got0
	if got == 0 {
		b.Fatal("nothing delivered")
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(got), "cpu-µs/delivery")
	b.ReportMetric(float64(duplicates(hosts)-dup0)/float64(got), "dups/delivery")
	b.ReportMetric(float64(rpcsSent(hosts)-rpc0)/float64(got), "rpcs/delivery")
	b.ReportMetric(float64(got)/float64(b.N*homes*(homes-1)), "delivered")
}

// duplicates sums the duplicate copies the hosts dropped.
func duplicates(hosts []*mesh.Mesh) uint64 {
	var d uint64
	for _, h := range hosts {
		for _, t := range h.Traffic() {
			d += t.Duplicates
		}
	}
	return d
}

// rpcsSent sums the gossipsub RPC frames the hosts sent: messages,
// their duplicates and control (IHAVE, IWANT, GRAFT, PRUNE) alike.
func rpcsSent(hosts []*mesh.Mesh) uint64 {
	var n uint64
	for _, h := range hosts {
		n += h.Wire().RPCsSent
	}
	return n
}

// processCPU is the process's CPU time so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGossipSignatureVerify measures one ed25519 check of a gossip
// message's signature, as gossipsub makes on every message each host
// receives (StrictSign): a signature over about 300 bytes (a telemetry
// report in its envelope), the key taken from the author's peer ID.
func BenchmarkGossipSignatureVerify(b *testing.B) {
	key := meshtest.NewKey(b)
	msg := make([]byte, 300)
	sig, err := key.Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	var pub crypto.PubKey = key.GetPublic()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := pub.Verify(msg, sig); !ok || err != nil {
			b.Fatal("signature refused", err)
		}
	}
}
