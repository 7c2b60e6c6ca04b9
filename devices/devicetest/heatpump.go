package devicetest

import (
	"fmt"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// HeatPump runs the heat pump suite: newHarness gives a driver of the
// heat pump of Home, whose house must be inside its comfort band
// (NewHome's is), where commands are followed.
func HeatPump(t *testing.T, newHarness func(t *testing.T) Harness[HeatPumpDriver]) {
	t.Run("reading matches the device", func(t *testing.T) {
		c, dev := heatPumpSetup(t, newHarness)
		c.eventually("the driver's reading", func() error { return heatPumpMatches(c, dev) })
	})
	t.Run("power reaches the device", func(t *testing.T) {
		c, dev := heatPumpSetup(t, newHarness)
		s, _ := dev.HeatPump()
		for _, w := range []gridmesh.W{s.MaxW / 2, 0, s.MaxW / 4} {
			setHeatPump(c, dev, w, w)
		}
	})
	t.Run("power clamped to the limits", func(t *testing.T) {
		c, dev := heatPumpSetup(t, newHarness)
		s, _ := dev.HeatPump()
		setHeatPump(c, dev, 10*s.MaxW, s.MaxW)
		setHeatPump(c, dev, -1_000, 0)
	})
	t.Run("non-finite power refused", func(t *testing.T) {
		c, dev := heatPumpSetup(t, newHarness)
		s, _ := dev.HeatPump()
		setHeatPump(c, dev, s.MaxW/3, s.MaxW/3)
		for _, w := range nonFinite {
			if err := c.h.Driver.SetHeatPumpPower(w); err == nil {
				t.Errorf("SetHeatPumpPower(%v) accepted", w)
			}
		}
		if got, _ := dev.HeatPump(); got.PowerW != s.MaxW/3 {
			t.Errorf("heat pump at %v after refused commands, want %v", got.PowerW, s.MaxW/3)
		}
	})
}

func heatPumpSetup(t *testing.T, newHarness func(t *testing.T) Harness[HeatPumpDriver]) (check[HeatPumpDriver], *sim.HeatPump) {
	t.Helper()
	c := setup(t, newHarness)
	dev := c.h.Home.Devices().HeatPump
	if dev == nil {
		t.Fatal("devicetest: the harness's home has no heat pump")
	}
	if s, _ := dev.HeatPump(); s.IndoorC <= s.BandLowC || s.IndoorC >= s.BandHighC {
		t.Fatalf("devicetest: the harness's house is outside its comfort band (%+v): use NewHome", s)
	}
	return c, dev
}

func setHeatPump(c check[HeatPumpDriver], dev *sim.HeatPump, w, want gridmesh.W) {
	c.t.Helper()
	if err := c.h.Driver.SetHeatPumpPower(w); err != nil {
		c.t.Fatalf("SetHeatPumpPower(%v): %v", w, err)
	}
	c.eventually(fmt.Sprintf("power %v at the heat pump", w), func() error {
		s, _ := dev.HeatPump()
		var d differ
		d.near("device PowerW", float64(s.PowerW), float64(want), float64(c.tol.PowerW))
		return d.err()
	})
	c.eventually(fmt.Sprintf("power %v in the driver's reading", w), func() error { return heatPumpMatches(c, dev) })
}

func heatPumpMatches(c check[HeatPumpDriver], dev *sim.HeatPump) error {
	got, err := c.h.Driver.HeatPump()
	if err != nil {
		return err
	}
	want, _ := dev.HeatPump()
	var d differ
	p, k := float64(c.tol.PowerW), c.tol.TempC
	d.near("PowerW", float64(got.PowerW), float64(want.PowerW), p)
	d.near("MaxW", float64(got.MaxW), float64(want.MaxW), p)
	d.near("IndoorC", got.IndoorC, want.IndoorC, k)
	d.near("OutdoorC", got.OutdoorC, want.OutdoorC, k)
	d.near("BandLowC", got.BandLowC, want.BandLowC, k)
	d.near("BandHighC", got.BandHighC, want.BandHighC, k)
	return d.err()
}
