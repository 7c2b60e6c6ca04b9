package node

import (
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// A home reports the base load its loop steers by: for a battery that
// does not report its power, the meter less 0 W would count the
// battery's own discharge as the home's load.
func TestReportedBaseLoadIsTheLoopsEstimate(t *testing.T) {
	hidden := control.Reading{NetW: 300, Battery: gridmesh.Flexibility{PowerW: 0}}
	for _, tc := range []struct {
		name string
		snap loopSnapshot
		want gridmesh.W
	}{
		{"no estimate yet: meter less reading", loopSnapshot{Reading: hidden}, 300},
		{"hidden power, modelled discharge of 1.2 kW",
			loopSnapshot{Reading: hidden, Base: control.BaseEstimate{BaseW: 1500, BatteryW: -1200, Source: control.PowerModelled, Valid: true}}, 1500},
		{"reported power",
			loopSnapshot{Reading: control.Reading{NetW: 300, Battery: gridmesh.Flexibility{PowerW: -1200}},
				Base: control.BaseEstimate{BaseW: 1500, BatteryW: -1200, Source: control.PowerReported, Valid: true}}, 1500},
	} {
		if got := tc.snap.baseW(); got != tc.want {
			t.Errorf("%s: base %v W, want %v W", tc.name, got, tc.want)
		}
	}
}
