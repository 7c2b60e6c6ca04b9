package sunspec

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestWritePolicy(t *testing.T) {
	p := writePolicy{minInterval: time.Second, refresh: 30 * time.Second, deadbandW: 20}
	t0 := time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)
	rates := func(pct uint16) write { return write{offStorageRates, []uint16{neg(-int(pct)), pct}} }
	bat := func(pct uint16) command {
		return command{set: rates(pct), statics: []write{{offStorageRates + 3, []uint16{60}}, {offStorageMod, []uint16{3}}}}
	}
	on := write{offControlsLim + 4, []uint16{1}}
	pv := command{set: write{offControlsLim, []uint16{500}}, enable: &on}
	written := sent{ok: true, w: 1000, set: []uint16{neg(-2000), 2000}, at: t0}
	tests := []struct {
		name string
		s    sent
		cmd  command
		want gridmesh.W
		now  time.Time
		n    int // writes due: 0 none, 1 the value, 2 value and enable, else all
	}{
		{"nothing on the device yet", sent{}, bat(2000), 1000, t0, 3},
		{"unchanged", written, bat(2000), 1000, t0.Add(5 * time.Second), 0},
		{"moved within the deadband", written, bat(2010), 1005, t0.Add(5 * time.Second), 0},
		{"moved beyond it", written, bat(2100), 1050, t0.Add(5 * time.Second), 1},
		{"beyond it but the registers hold the same", written, bat(2000), 1030, t0.Add(5 * time.Second), 0},
		{"refresh due", written, bat(2000), 1000, t0.Add(30 * time.Second), 1},
		{"not yet due", written, bat(2000), 1000, t0.Add(29 * time.Second), 0},
		{"enable flips", sent{ok: true, w: 3000, set: []uint16{500}, ena: 0, at: t0}, pv, 3000, t0.Add(time.Second), 2},
		{"enable holds", sent{ok: true, w: 3000, set: []uint16{500}, ena: 1, at: t0}, pv, 3000, t0.Add(time.Second), 0},
	}
	for _, tc := range tests {
		got := p.need(tc.s, tc.cmd, tc.want, tc.now)
		if len(got) != tc.n {
			t.Errorf("%s: writes %+v, want %d", tc.name, got, tc.n)
		}
	}
	for _, tc := range []struct {
		last, now time.Time
		ok        bool
	}{
		{time.Time{}, t0, true},
		{t0, t0.Add(999 * time.Millisecond), false},
		{t0, t0.Add(time.Second), true},
	} {
		if got := p.allowed(tc.last, tc.now); got != tc.ok {
			t.Errorf("allowed(%v, %v) = %v", tc.last, tc.now, got)
		}
	}
}
