package devicetest

import (
	"fmt"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// PV runs the PV inverter suite: newHarness gives a driver of the PV
// inverter of Home, which must be producing (NewHome's is).
func PV(t *testing.T, newHarness func(t *testing.T) Harness[PVDriver]) {
	t.Run("reading matches the device", func(t *testing.T) {
		c, dev := pvSetup(t, newHarness)
		c.eventually("the driver's reading", func() error { return pvMatches(c, dev) })
	})
	t.Run("limit curtails the output", func(t *testing.T) {
		c, dev := pvSetup(t, newHarness)
		s, _ := dev.PV()
		half := s.AvailableW / 2
		setPV(c, dev, half, func(s gridmesh.PVState) (gridmesh.W, gridmesh.W) { return half, half })
		setPV(c, dev, 2*s.PeakW, func(s gridmesh.PVState) (gridmesh.W, gridmesh.W) { return s.AvailableW, s.PeakW })
	})
	t.Run("limit clamped to the inverter", func(t *testing.T) {
		c, dev := pvSetup(t, newHarness)
		setPV(c, dev, -500, func(gridmesh.PVState) (gridmesh.W, gridmesh.W) { return 0, 0 })
		setPV(c, dev, 1e6, func(s gridmesh.PVState) (gridmesh.W, gridmesh.W) { return s.AvailableW, s.PeakW })
	})
	t.Run("non-finite limit refused", func(t *testing.T) {
		c, dev := pvSetup(t, newHarness)
		s, _ := dev.PV()
		half := s.AvailableW / 2
		setPV(c, dev, half, func(gridmesh.PVState) (gridmesh.W, gridmesh.W) { return half, half })
		for _, w := range nonFinite {
			if err := c.h.Driver.SetPVLimit(w); err == nil {
				t.Errorf("SetPVLimit(%v) accepted", w)
			}
		}
		if s, _ := dev.PV(); s.LimitW != half {
			t.Errorf("device limit %v after refused limits, want %v", s.LimitW, half)
		}
	})
}

func pvSetup(t *testing.T, newHarness func(t *testing.T) Harness[PVDriver]) (check[PVDriver], *sim.PV) {
	t.Helper()
	c := setup(t, newHarness)
	dev := c.h.Home.Devices().PV
	if dev == nil {
		t.Fatal("devicetest: the harness's home has no PV")
	}
	if s, _ := dev.PV(); s.AvailableW < 100 {
		t.Fatalf("devicetest: the harness's PV produces %v: use NewHome", s.AvailableW)
	}
	return c, dev
}

// setPV sets limit w through the driver and waits for the device's output
// and limit to be what want says, and for the driver to read them.
func setPV(c check[PVDriver], dev *sim.PV, w gridmesh.W, want func(gridmesh.PVState) (power, limit gridmesh.W)) {
	c.t.Helper()
	if err := c.h.Driver.SetPVLimit(w); err != nil {
		c.t.Fatalf("SetPVLimit(%v): %v", w, err)
	}
	c.eventually(fmt.Sprintf("limit %v at the device", w), func() error {
		s, _ := dev.PV()
		power, limit := want(s)
		var d differ
		d.near("device PowerW", float64(s.PowerW), float64(power), float64(c.tol.PowerW))
		d.near("device LimitW", float64(s.LimitW), float64(limit), float64(c.tol.PowerW))
		return d.err()
	})
	c.eventually(fmt.Sprintf("limit %v in the driver's reading", w), func() error { return pvMatches(c, dev) })
}

// pvMatches compares the driver's reading with the device's. AvailableW
// is the array's potential, or the driver's own PowerW for a driver that
// cannot tell (Harness.PVAvailableUnknown).
func pvMatches(c check[PVDriver], dev *sim.PV) error {
	got, err := c.h.Driver.PV()
	if err != nil {
		return err
	}
	want, _ := dev.PV()
	var d differ
	p := float64(c.tol.PowerW)
	d.near("PowerW", float64(got.PowerW), float64(want.PowerW), p)
	if c.h.PVAvailableUnknown {
		d.equal("AvailableW (the driver cannot tell: its PowerW)", got.AvailableW, got.PowerW)
	} else {
		d.near("AvailableW", float64(got.AvailableW), float64(want.AvailableW), p)
	}
	d.near("PeakW", float64(got.PeakW), float64(want.PeakW), p)
	// A limit at or above the peak is no limit, however it is encoded.
	if !(want.LimitW >= want.PeakW && got.LimitW >= got.PeakW-gridmesh.W(p)) {
		d.near("LimitW", float64(got.LimitW), float64(want.LimitW), p)
	}
	return d.err()
}
