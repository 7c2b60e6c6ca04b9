package devicetest

import (
	"fmt"
	"testing"

	"github.com/gridmesh/gridmesh/devices/sim"
)

// Loads runs the household load suite: newHarness gives a driver of the
// loads of Home, part of which must be sheddable (NewHome's is).
func Loads(t *testing.T, newHarness func(t *testing.T) Harness[LoadsDriver]) {
	t.Run("reading matches the device", func(t *testing.T) {
		c, dev := loadsSetup(t, newHarness)
		c.eventually("the driver's reading", func() error { return loadsMatch(c, dev) })
	})
	t.Run("shedding reaches the device", func(t *testing.T) {
		c, dev := loadsSetup(t, newHarness)
		for _, shed := range []bool{true, false, true} {
			if err := c.h.Driver.ShedNonCritical(shed); err != nil {
				t.Fatalf("ShedNonCritical(%v): %v", shed, err)
			}
			c.eventually(fmt.Sprintf("shed %v at the device", shed), func() error {
				if s, _ := dev.Loads(); s.Shed != shed {
					return fmt.Errorf("device Shed = %v", s.Shed)
				}
				return nil
			})
			c.eventually(fmt.Sprintf("shed %v in the driver's reading", shed), func() error { return loadsMatch(c, dev) })
		}
	})
}

func loadsSetup(t *testing.T, newHarness func(t *testing.T) Harness[LoadsDriver]) (check[LoadsDriver], *sim.Loads) {
	t.Helper()
	c := setup(t, newHarness)
	dev := c.h.Home.Devices().Loads
	if dev == nil {
		t.Fatal("devicetest: the harness's home has no loads")
	}
	if s, _ := dev.Loads(); s.NonCriticalW <= 0 {
		t.Fatalf("devicetest: nothing of the harness's load is sheddable (%+v): use NewHome", s)
	}
	return c, dev
}

func loadsMatch(c check[LoadsDriver], dev *sim.Loads) error {
	got, err := c.h.Driver.Loads()
	if err != nil {
		return err
	}
	want, _ := dev.Loads()
	var d differ
	p := float64(c.tol.PowerW)
	d.near("CriticalW", float64(got.CriticalW), float64(want.CriticalW), p)
	d.near("NonCriticalW", float64(got.NonCriticalW), float64(want.NonCriticalW), p)
	d.equal("Shed", got.Shed, want.Shed)
	return d.err()
}
