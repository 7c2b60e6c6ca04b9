package mesh

import (
	"fmt"
	"testing"

	"github.com/gridmesh/gridmesh"
)

// BenchmarkNeighborhoodMessageBytes reports the bytes of a neighborhood's
// messages as the region's arithmetic counts them (docs/SCALING.md): a
// home's telemetry report (one announced address, as a home on one
// network; eight, the most it carries) and a leader's plan for 25 and
// 250 homes, as CBOR payload, as gossipsub's signed message and alone in
// an RPC frame.
func BenchmarkNeighborhoodMessageBytes(b *testing.B) {
	br := newBenchRegion(b)
	tele := func(addrs int) gridmesh.Telemetry {
		t := gridmesh.Telemetry{
			Version: gridmesh.WireVersion, Home: "nb0042-h07", Neighborhood: "nb0042", Seq: 123_456,
			AtMs: benchNow.UnixMilli(), NetW: 1234.5, BaseW: 987.25,
			Battery: gridmesh.Flexibility{PowerW: -1500.5, MinW: -5000, MaxW: 5000, SoC: 0.6180339, CapacityWh: 13_500, ChargeWh: 5157.3, DischargeWh: 8342.7},
		}
		for i := range addrs {
			t.Addrs = append(t.Addrs, fmt.Sprintf("/ip4/203.0.113.%d/tcp/4001", 10+i))
		}
		return t
	}
	plan := func(homes int) gridmesh.Plan {
		p := gridmesh.Plan{
			Version: gridmesh.WireVersion, Neighborhood: "nb0042", Epoch: gridmesh.Epoch{Term: 7, Index: 123_456},
			IssuedAtMs: benchNow.UnixMilli(), LeaseMs: 3000, Target: gridmesh.Target{Seq: 4, ImportW: 7500},
		}
		for i := range homes {
			p.Setpoints = append(p.Setpoints, gridmesh.Setpoint{Home: gridmesh.HomeID(fmt.Sprintf("nb0042-h%03d", i)), NetW: gridmesh.W(300.5 + float64(i))})
		}
		return p
	}
	cases := []struct {
		name, kind string
		enc        func() ([]byte, error)
	}{
		{"telemetry/addrs=1", TopicTelemetry, func() ([]byte, error) { return EncodeTelemetry(tele(1)) }},
		{"telemetry/addrs=8", TopicTelemetry, func() ([]byte, error) { return EncodeTelemetry(tele(gridmesh.MaxAddrs)) }},
		{"plan/homes=25", TopicPlan, func() ([]byte, error) { return EncodePlan(plan(25)) }},
		{"plan/homes=250", TopicPlan, func() ([]byte, error) { return EncodePlan(plan(250)) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			data, err := c.enc()
			if err != nil {
				b.Fatal(err)
			}
			reportBytes(b, data, br.gossip(b, TopicName(benchNetwork, "nb0042", c.kind), data))
		})
	}
}
