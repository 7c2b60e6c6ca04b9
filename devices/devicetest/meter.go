package devicetest

import (
	"testing"

	"github.com/gridmesh/gridmesh/devices/sim"
)

// Meter runs the meter suite: newHarness gives a driver of the meter of
// Home.
func Meter(t *testing.T, newHarness func(t *testing.T) Harness[MeterDriver]) {
	t.Run("reading matches the device", func(t *testing.T) {
		c := setup(t, newHarness)
		c.eventually("the driver's reading", func() error { return meterMatches(c) })
	})
	t.Run("follows the home's balance", func(t *testing.T) {
		c := setup(t, newHarness)
		before, _ := c.h.Home.Meter()
		d := c.h.Home.Devices()
		switch {
		case d.Battery != nil:
			_ = d.Battery.SetBatteryPower(3_000)
		case d.Loads != nil:
			_ = d.Loads.ShedNonCritical(true)
		case d.Charger != nil:
			_ = d.Charger.SetChargePower(0)
		default:
			t.Skip("the harness's home has no device that moves the meter")
		}
		if after, _ := c.h.Home.Meter(); after.NetW == before.NetW {
			t.Fatalf("the home's balance did not move: %v", after.NetW)
		}
		c.eventually("the new balance through the driver", func() error { return meterMatches(c) })
	})
	t.Run("follows the grid", func(t *testing.T) {
		c := setup(t, newHarness)
		for _, g := range []sim.Grid{
			{VoltageV: 244.5, FrequencyHz: 49.8, Up: true},
			{VoltageV: 218, FrequencyHz: 50.15, Up: true},
			{VoltageV: 0, FrequencyHz: 0, Up: false},
			sim.DefaultGrid(),
		} {
			if err := c.h.Home.Devices().Meter.SetGrid(g); err != nil {
				t.Fatal(err)
			}
			c.eventually("the grid through the driver", func() error { return meterMatches(c) })
		}
	})
}

// meterMatches compares the driver's reading with the home's meter.
func meterMatches(c check[MeterDriver]) error {
	got, err := c.h.Driver.Meter()
	if err != nil {
		return err
	}
	want, _ := c.h.Home.Meter()
	var d differ
	d.near("NetW", float64(got.NetW), float64(want.NetW), float64(c.tol.PowerW))
	d.near("VoltageV", got.VoltageV, want.VoltageV, c.tol.VoltageV)
	d.near("FrequencyHz", got.FrequencyHz, want.FrequencyHz, c.tol.FrequencyHz)
	d.equal("GridOK", got.GridOK, want.GridOK)
	if !got.NetW.Finite() {
		d.out = append(d.out, "NetW not finite")
	}
	return d.err()
}
