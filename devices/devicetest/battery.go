package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// Battery runs the battery suite: newHarness gives a driver of the
// battery of Home.
func Battery(t *testing.T, newHarness func(t *testing.T) Harness[BatteryDriver]) {
	t.Run("reading matches the device", func(t *testing.T) {
		c, dev := batterySetup(t, newHarness)
		c.eventually("the driver's reading", func() error { return batteryMatches(c, dev) })
	})
	t.Run("setpoint reaches the device", func(t *testing.T) {
		c, dev := batterySetup(t, newHarness)
		for _, w := range []gridmesh.W{2_000, -1_500, 0} {
			setBattery(c, dev, w, w)
		}
	})
	t.Run("setpoint clamped to the limits", func(t *testing.T) {
		c, dev := batterySetup(t, newHarness)
		f, _ := dev.Battery()
		setBattery(c, dev, 10*f.MaxW+1_000, f.MaxW)
		setBattery(c, dev, 10*f.MinW-1_000, f.MinW)
	})
	t.Run("non-finite setpoint refused", func(t *testing.T) {
		c, dev := batterySetup(t, newHarness)
		setBattery(c, dev, 1_000, 1_000)
		for _, w := range nonFinite {
			if err := c.h.Driver.SetBatteryPower(w); err == nil {
				t.Errorf("SetBatteryPower(%v) accepted", w)
			}
		}
		if w := c.h.Home.Snapshot().BatteryW; math.Abs(float64(w-1_000)) > float64(c.tol.PowerW) {
			t.Errorf("device at %v after refused setpoints, want 1000W", w)
		}
		setBattery(c, dev, 1_100, 1_100) // the driver still works
	})
}

func batterySetup(t *testing.T, newHarness func(t *testing.T) Harness[BatteryDriver]) (check[BatteryDriver], *sim.Battery) {
	t.Helper()
	c := setup(t, newHarness)
	dev := c.h.Home.Devices().Battery
	if dev == nil {
		t.Fatal("devicetest: the harness's home has no battery")
	}
	return c, dev
}

// setBattery commands w through the driver and waits for the device to
// deliver want (what it delivers, whatever it reports) and the driver to
// read it.
func setBattery(c check[BatteryDriver], dev *sim.Battery, w, want gridmesh.W) {
	c.t.Helper()
	if err := c.h.Driver.SetBatteryPower(w); err != nil {
		c.t.Fatalf("SetBatteryPower(%v): %v", w, err)
	}
	c.eventually(fmt.Sprintf("setpoint %v at the device", w), func() error {
		var d differ
		d.near("device PowerW", float64(c.h.Home.Snapshot().BatteryW), float64(want), float64(c.tol.PowerW))
		return d.err()
	})
	c.eventually(fmt.Sprintf("setpoint %v in the driver's reading", w), func() error { return batteryMatches(c, dev) })
}

// batteryMatches compares the driver's reading with the device's: its
// power with what the device delivers (or 0 with
// Harness.BatteryPowerHidden), the rest with what it reports.
func batteryMatches(c check[BatteryDriver], dev *sim.Battery) error {
	got, err := c.h.Driver.Battery()
	if err != nil {
		return err
	}
	if err := got.Validate(); err != nil {
		return err
	}
	want, _ := dev.Battery()
	var d differ
	p, e := float64(c.tol.PowerW), float64(c.tol.EnergyWh)
	truth := c.h.Home.Snapshot().BatteryW
	if c.h.BatteryPowerHidden {
		truth = 0
	}
	d.near("PowerW", float64(got.PowerW), float64(truth), p)
	d.near("MinW", float64(got.MinW), float64(want.MinW), p)
	d.near("MaxW", float64(got.MaxW), float64(want.MaxW), p)
	d.near("SoC", got.SoC, want.SoC, c.tol.SoC)
	d.near("CapacityWh", float64(got.CapacityWh), float64(want.CapacityWh), e)
	d.near("ChargeWh", float64(got.ChargeWh), float64(want.ChargeWh), e)
	d.near("DischargeWh", float64(got.DischargeWh), float64(want.DischargeWh), e)
	return d.err()
}
