package sunspec_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sunspec"
)

// clock is a settable clock for the driver's write policy.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// wobble is a command that moves every 100 ms tick, by tens to hundreds
// of watts, as a loop following a meter does.
func wobble(i int, base gridmesh.W) gridmesh.W {
	return base + gridmesh.W(600*math.Sin(float64(i)/7)+80*math.Sin(float64(i)*1.3))
}

// A loop commanding a new battery power every 100 ms for a simulated
// minute, and polling the battery as a guard does, costs the device at
// most one setpoint write a second; the mode and the reversion time are
// written once; the battery ends at the newest command.
func TestWritePacing(t *testing.T) {
	const tick, ticks = 100 * time.Millisecond, 600 // a minute
	t.Run("battery", func(t *testing.T) {
		r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
		clk := &clock{t: peakHour}
		d := dialPaced(t, r.srv.Addr(), clk)
		b, _ := d.BatteryView()
		var last gridmesh.W
		for i := range ticks {
			last = wobble(i, 1500)
			if err := b.SetBatteryPower(last); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Battery(); err != nil {
				t.Fatal(err)
			}
			clk.advance(tick)
		}
		st := d.Stats()
		t.Logf("a minute of 100 ms commands: %d setpoint writes, %d Modbus writes (server counted %d)", st.SetpointWrites, st.Writes, r.srv.Writes())
		if st.SetpointWrites > 60 || st.SetpointWrites < 55 {
			t.Errorf("%d setpoint writes in a minute of moving commands, want one a second (55-60)", st.SetpointWrites)
		}
		if st.Writes != st.SetpointWrites+2 || r.srv.Writes() != st.Writes {
			t.Errorf("driver counted %d writes, server %d; want the setpoints plus StorCtl_Mod and the reversion time once (%d)",
				st.Writes, r.srv.Writes(), st.SetpointWrites+2)
		}
		clk.advance(time.Second)
		if _, err := b.Battery(); err != nil {
			t.Fatal(err)
		}
		if got := r.home.Home().Snapshot().BatteryW; !near(got, last, float64(sunspec.DefaultConfig().DeadbandW)) {
			t.Errorf("battery at %v, want the newest command %v within the deadband", got, last)
		}
	})
	t.Run("battery and PV share the device's budget", func(t *testing.T) {
		r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
		clk := &clock{t: peakHour}
		d := dialPaced(t, r.srv.Addr(), clk)
		b, _ := d.BatteryView()
		pv, _ := d.PVView()
		before := d.Stats().Writes
		for i := range ticks {
			if err := b.SetBatteryPower(wobble(i, 1500)); err != nil {
				t.Fatal(err)
			}
			if err := pv.SetPVLimit(wobble(i+50, 3000)); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Battery(); err != nil {
				t.Fatal(err)
			}
			if _, err := pv.PV(); err != nil {
				t.Fatal(err)
			}
			clk.advance(tick)
		}
		st := d.Stats()
		t.Logf("battery and PV limit moving every 100 ms for a minute: %d setpoint writes, %d Modbus writes", st.SetpointWrites, st.Writes-before)
		if st.SetpointWrites > 60 {
			t.Errorf("%d setpoint writes in a minute, want at most one a second for the device", st.SetpointWrites)
		}
		if s, _ := r.home.PV(); s.LimitW == 6000 || r.home.Home().Snapshot().BatteryW == 0 {
			t.Errorf("PV limit %v, battery %v: one setpoint starved the other", s.LimitW, r.home.Home().Snapshot().BatteryW)
		}
	})
	t.Run("a held setpoint is refreshed at half the reversion time", func(t *testing.T) {
		r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
		clk := &clock{t: peakHour}
		d := dialPaced(t, r.srv.Addr(), clk) // 60 s reversion
		b, _ := d.BatteryView()
		if err := b.SetBatteryPower(1000); err != nil {
			t.Fatal(err)
		}
		for range 650 { // 65 s of polls and the same command
			clk.advance(tick)
			if err := b.SetBatteryPower(1000); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Battery(); err != nil {
				t.Fatal(err)
			}
		}
		// Written at 0 s (with the mode and reversion time), 30 s, 60 s.
		if st := d.Stats(); st.SetpointWrites != 3 || st.Writes != 5 {
			t.Errorf("%+v, want 3 setpoint writes (0, 30, 60 s) and 5 Modbus writes", st)
		}
	})
}

func dialPaced(t *testing.T, addr string, clk *clock) *sunspec.Device {
	t.Helper()
	cfg := sunspec.DefaultConfig()
	cfg.Addr, cfg.Device = addr, "paced-inverter"
	d, err := sunspec.Dial(t.Context(), cfg, testLog(t), sunspec.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
