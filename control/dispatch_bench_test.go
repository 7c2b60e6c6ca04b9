package control_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// BenchmarkDispatch measures one leader's plan computation for a
// neighborhood of n homes.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{25, 250, 2500} {
		b.Run(fmt.Sprintf("homes=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			homes := make([]control.HomeState, n)
			var base gridmesh.W
			for i := range homes {
				homes[i] = control.HomeState{
					Home:  gridmesh.HomeID(fmt.Sprintf("h%05d", i)),
					BaseW: gridmesh.W(200 + rng.Float64()*1500),
					Battery: gridmesh.Flexibility{
						MinW: -5000, MaxW: 5000, SoC: 0.5, CapacityWh: 13_500, ChargeWh: 6000, DischargeWh: 6000,
					},
				}
				base += homes[i].BaseW
			}
			target := gridmesh.Target{Seq: 1, ImportW: base / 3}
			b.ReportAllocs()
			for b.Loop() {
				res := control.Dispatch(target, homes)
				if !res.Feasible {
					b.Fatal("infeasible")
				}
			}
		})
	}
}
