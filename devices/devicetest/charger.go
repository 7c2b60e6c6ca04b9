package devicetest

import (
	"fmt"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// Charger runs the EV charger suite: newHarness gives a driver of the
// charger of Home, which must have a car plugged in that wants energy
// (NewHome's has).
func Charger(t *testing.T, newHarness func(t *testing.T) Harness[ChargerDriver]) {
	t.Run("reading matches the device", func(t *testing.T) {
		c, dev := chargerSetup(t, newHarness)
		c.eventually("the driver's reading", func() error { return chargerMatches(c, dev) })
	})
	t.Run("power reaches the device", func(t *testing.T) {
		c, dev := chargerSetup(t, newHarness)
		for _, w := range []gridmesh.W{5_000, 0, 7_400} {
			setCharger(c, dev, w, func(gridmesh.ChargerState) gridmesh.W { return w })
		}
	})
	t.Run("power clamped to the limits", func(t *testing.T) {
		c, dev := chargerSetup(t, newHarness)
		setCharger(c, dev, 1e6, func(s gridmesh.ChargerState) gridmesh.W { return s.MaxW })
		setCharger(c, dev, 0, func(gridmesh.ChargerState) gridmesh.W { return 0 })
		s, _ := dev.Charger()
		setCharger(c, dev, s.MinW/2, func(s gridmesh.ChargerState) gridmesh.W { return s.MinW })
	})
	t.Run("non-finite power refused", func(t *testing.T) {
		c, dev := chargerSetup(t, newHarness)
		setCharger(c, dev, 3_000, func(gridmesh.ChargerState) gridmesh.W { return 3_000 })
		for _, w := range nonFinite {
			if err := c.h.Driver.SetChargePower(w); err == nil {
				t.Errorf("SetChargePower(%v) accepted", w)
			}
		}
		if s, _ := dev.Charger(); s.PowerW != 3_000 {
			t.Errorf("charger at %v after refused commands, want 3000W", s.PowerW)
		}
	})
}

func chargerSetup(t *testing.T, newHarness func(t *testing.T) Harness[ChargerDriver]) (check[ChargerDriver], *sim.Charger) {
	t.Helper()
	c := setup(t, newHarness)
	dev := c.h.Home.Devices().Charger
	if dev == nil {
		t.Fatal("devicetest: the harness's home has no charger")
	}
	if s, _ := dev.Charger(); !s.Connected || s.WantedWh <= 0 {
		t.Fatalf("devicetest: no car wants energy from the harness's charger (%+v): use NewHome", s)
	}
	return c, dev
}

func setCharger(c check[ChargerDriver], dev *sim.Charger, w gridmesh.W, want func(gridmesh.ChargerState) gridmesh.W) {
	c.t.Helper()
	if err := c.h.Driver.SetChargePower(w); err != nil {
		c.t.Fatalf("SetChargePower(%v): %v", w, err)
	}
	c.eventually(fmt.Sprintf("power %v at the charger", w), func() error {
		s, _ := dev.Charger()
		var d differ
		d.near("device PowerW", float64(s.PowerW), float64(want(s)), float64(c.tol.PowerW))
		return d.err()
	})
	c.eventually(fmt.Sprintf("power %v in the driver's reading", w), func() error { return chargerMatches(c, dev) })
}

func chargerMatches(c check[ChargerDriver], dev *sim.Charger) error {
	got, err := c.h.Driver.Charger()
	if err != nil {
		return err
	}
	want, _ := dev.Charger()
	var d differ
	p := float64(c.tol.PowerW)
	d.equal("Connected", got.Connected, want.Connected)
	d.near("PowerW", float64(got.PowerW), float64(want.PowerW), p)
	d.near("MinW", float64(got.MinW), float64(want.MinW), p)
	d.near("MaxW", float64(got.MaxW), float64(want.MaxW), p)
	d.near("WantedWh", float64(got.WantedWh), float64(want.WantedWh), float64(c.tol.EnergyWh))
	// A driver that cannot tell the departure reports 0.
	if got.DepartureMs != 0 {
		d.near("DepartureMs", float64(got.DepartureMs), float64(want.DepartureMs), float64(c.tol.TimeMs))
	}
	return d.err()
}
