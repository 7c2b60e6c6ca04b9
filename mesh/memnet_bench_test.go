package mesh_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/memnet"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// BenchmarkHostsOnMemNetwork measures what one home's host costs on the
// in-memory network, the per-home part of a large testnet city below
// Raft and the device loop: hosts of one neighborhood, each dialing the
// first and the one before it, with default gossip timings, joined to the
// neighborhood's topics. It reports the live heap and goroutines per host
// once every host has a gossip peer; ns/op is the time to open them all.
func BenchmarkHostsOnMemNetwork(b *testing.B) {
	const hosts = 100
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		b.StartTimer()
		n := memnet.New()
		ms := make([]*mesh.Mesh, hosts)
		for i := range ms {
			cfg := mesh.DefaultConfig()
			cfg.Network = "bench"
			cfg.ListenAddrs = []string{fmt.Sprintf("/ip4/127.1.0.%d/tcp/4001", i+1)}
			for _, j := range []int{0, i - 1} {
				if j >= 0 && j < i {
					cfg.Bootstrap = append(cfg.Bootstrap, fmt.Sprintf("%s/p2p/%s", ms[j].Host().Addrs()[0], ms[j].ID()))
				}
			}
			ms[i] = meshtest.Open(b, cfg, mesh.WithTransport(n.Transport()))
			meshtest.Run(b, ms[i])
			if _, err := ms[i].JoinNeighborhood("n0", meshtest.NewLeaders("", 0), true); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		for i, m := range ms {
			meshtest.Eventually(b, fmt.Sprintf("host %d connected", i), func() bool { return m.ConnectedPeers() > 0 })
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse))/hosts, "heap-B/host")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/hosts, "goroutines/host")
		for _, m := range ms {
			_ = m.Close()
		}
		b.StartTimer()
	}
}
