package node

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/control"
)

func TestNextEnergyDay(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, cet) }
	t0 := control.EnergyJ{GridImport: 100}
	t1 := control.EnergyJ{GridImport: 200}
	for _, tc := range []struct {
		name string
		d    energyDay
		now  time.Time
		want energyDay
	}{
		{"first tick starts the span", energyDay{}, at(2, 14, 5), energyDay{Start: at(2, 14, 5), Totals: t1}},
		{"same day keeps it", energyDay{Start: at(2, 0, 0), Totals: t0}, at(2, 23, 59), energyDay{Start: at(2, 0, 0), Totals: t0}},
		{"next day starts anew", energyDay{Start: at(2, 9, 0), Totals: t0}, at(3, 0, 0), energyDay{Start: at(3, 0, 0), Totals: t1}},
		{"the day is the span's own zone's", energyDay{Start: at(2, 9, 0), Totals: t0}, at(2, 23, 30).UTC(), energyDay{Start: at(2, 9, 0), Totals: t0}},
		{"a clock set back a day starts anew", energyDay{Start: at(3, 9, 0), Totals: t0}, at(2, 9, 0), energyDay{Start: at(2, 9, 0), Totals: t1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nextEnergyDay(tc.d, t1, tc.now)
			if !got.Start.Equal(tc.want.Start) || got.Totals != tc.want.Totals {
				t.Errorf("got %v %+v, want %v %+v", got.Start, got.Totals, tc.want.Start, tc.want.Totals)
			}
		})
	}
}
