package control_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// BenchmarkDecideRegion measures one leader's regional decision (what
// its dispatcher computes every plan while a signal is in force): the
// split of one cut among n neighborhoods' aggregates.
func BenchmarkDecideRegion(b *testing.B) {
	now := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	for _, n := range []int{20, 200, 2000, 20000} {
		b.Run(fmt.Sprintf("neighborhoods=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			v := control.RegionView{Aggregates: make([]gridmesh.Aggregate, n)}
			for i := range v.Aggregates {
				v.Aggregates[i] = gridmesh.Aggregate{
					Version: gridmesh.WireVersion, Neighborhood: gridmesh.NeighborhoodID(fmt.Sprintf("nb%05d", i)),
					Epoch: gridmesh.Epoch{Term: 1, Index: 1}, AtMs: now.Add(-time.Duration(rng.IntN(5000)) * time.Millisecond).UnixMilli(),
					ForS: control.AggregateForS, UpW: gridmesh.W(rng.Float64() * 60_000), DownW: gridmesh.W(rng.Float64() * 60_000),
					UpWh: gridmesh.Wh(rng.Float64() * 150_000), DownWh: gridmesh.Wh(rng.Float64() * 150_000),
				}
			}
			v.Signals = []control.RegionSignal{{At: now, Signal: gridmesh.Signal{
				Version: gridmesh.WireVersion, ID: "cut", Kind: gridmesh.SignalCutImport, Region: "r", Seq: 1,
				StartMs: now.Add(-time.Minute).UnixMilli(), EndMs: now.Add(time.Hour).UnixMilli(), AmountW: gridmesh.W(n) * 10_000,
			}}}
			b.ReportAllocs()
			for b.Loop() {
				if d := control.DecideRegion(v, "nb00000", now); len(d.Signals) != 1 {
					b.Fatal("no decision")
				}
			}
		})
	}
}
