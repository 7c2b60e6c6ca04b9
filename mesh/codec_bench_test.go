package mesh_test

import (
	"fmt"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

func benchPlan(homes int) gridmesh.Plan {
	p := gridmesh.Plan{
		Version: gridmesh.WireVersion, Neighborhood: "n0", Epoch: gridmesh.Epoch{Term: 3, Index: 1200},
		IssuedAtMs: 1_780_000_000_000, LeaseMs: 3000, Target: gridmesh.Target{Seq: 4, ImportW: 7500},
	}
	for i := range homes {
		p.Setpoints = append(p.Setpoints, gridmesh.Setpoint{Home: gridmesh.HomeID(fmt.Sprintf("n0-h%04d", i)), NetW: gridmesh.W(300 + i)})
	}
	return p
}

// BenchmarkPlanCodec measures encoding and decoding (with validation) a
// plan for a neighborhood of n homes.
func BenchmarkPlanCodec(b *testing.B) {
	for _, n := range []int{25, 250} {
		p := benchPlan(n)
		enc, err := mesh.EncodePlan(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("encode/homes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := mesh.EncodePlan(p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("decode/homes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := mesh.DecodePlan(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
