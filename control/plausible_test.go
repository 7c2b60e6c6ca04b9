package control

import (
	"testing"

	"github.com/gridmesh/gridmesh"
)

func TestPlausible(t *testing.T) {
	honest := gridmesh.Telemetry{NetW: 1200, BaseW: 1500, Battery: gridmesh.Flexibility{PowerW: -300, MinW: -5000, MaxW: 5000}}
	for _, tc := range []struct {
		name    string
		in      gridmesh.Telemetry
		want    gridmesh.Telemetry
		wantCut bool
	}{
		{name: "honest", in: honest, want: honest},
		{name: "at the bound", in: gridmesh.Telemetry{Battery: gridmesh.Flexibility{MinW: -25_000, MaxW: 25_000}},
			want: gridmesh.Telemetry{Battery: gridmesh.Flexibility{MinW: -25_000, MaxW: 25_000}}},
		{name: "50 kW of flexibility", in: gridmesh.Telemetry{BaseW: 800, Battery: gridmesh.Flexibility{MinW: -50_000, MaxW: 50_000}},
			want: gridmesh.Telemetry{BaseW: 800, Battery: gridmesh.Flexibility{MinW: -25_000, MaxW: 25_000}}, wantCut: true},
		{name: "a huge load", in: gridmesh.Telemetry{NetW: 90_000, BaseW: -90_000, Battery: gridmesh.Flexibility{PowerW: 40_000, MaxW: 40_000}},
			want: gridmesh.Telemetry{NetW: 25_000, BaseW: -25_000, Battery: gridmesh.Flexibility{PowerW: 25_000, MaxW: 25_000}}, wantCut: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := Plausible(tc.in, DefaultPlausibleHomeW)
			if got.NetW != tc.want.NetW || got.BaseW != tc.want.BaseW || got.Battery != tc.want.Battery || cut != tc.wantCut {
				t.Errorf("Plausible(%+v) = %+v, %v; want %+v, %v", tc.in, got, cut, tc.want, tc.wantCut)
			}
		})
	}
}
