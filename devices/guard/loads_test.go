package guard_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/guard"
)

// runLoads runs a loads guard over d until the test ends.
func runLoads(t *testing.T, d devices.Loads) *guard.Loads {
	t.Helper()
	g, err := guard.NewLoads(d, guard.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, g)
	return g
}

// The whole household load is disconnected and reconnected through the
// guard, independently of shedding its non-critical part; a simulated
// home draws nothing while off.
func TestLoadsDisconnectCritical(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := devicetest.NewHome(t)
		g := runLoads(t, h.Devices().Loads)
		if !g.CanDisconnectCritical() {
			t.Fatal("loads that can disconnect report they cannot")
		}
		for _, step := range []struct{ shed, off bool }{{false, true}, {true, true}, {true, false}, {false, false}} {
			if err := g.ShedNonCritical(step.shed); err != nil {
				t.Fatal(err)
			}
			if err := g.DisconnectCritical(step.off); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			s := h.Snapshot()
			if s.Shed != step.shed || s.CriticalOff != step.off {
				t.Fatalf("told shed %v, off %v: home shed %v, off %v", step.shed, step.off, s.Shed, s.CriticalOff)
			}
			if step.off && s.LoadW != 0 || !step.off && s.LoadW < s.CriticalW {
				t.Fatalf("off %v: the home draws %v W of %v W critical", step.off, s.LoadW, s.CriticalW)
			}
			if c, _ := g.Command(); c != (guard.LoadsCommand{ShedNonCritical: step.shed, DisconnectCritical: step.off}) {
				t.Fatalf("command %+v after shed %v, off %v", c, step.shed, step.off)
			}
		}
	})
}

// onlyShed is household loads that can shed their non-critical part but
// not disconnect the rest.
type onlyShed struct{ d devices.Loads }

func (o onlyShed) Loads() (gridmesh.LoadState, error) { return o.d.Loads() }
func (o onlyShed) ShedNonCritical(shed bool) error    { return o.d.ShedNonCritical(shed) }

// Loads that cannot disconnect their critical part refuse the command at
// once, keep shedding, and reconnecting is no error.
func TestLoadsWithoutDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := devicetest.NewHome(t)
		g := runLoads(t, onlyShed{h.Devices().Loads})
		if g.CanDisconnectCritical() {
			t.Fatal("loads that cannot disconnect report they can")
		}
		var de *gridmesh.DeviceError
		if err := g.DisconnectCritical(true); !errors.As(err, &de) || de.Retryable {
			t.Fatalf("disconnect on loads that cannot: %v, want a permanent device error", err)
		}
		if err := g.ShedNonCritical(true); err != nil {
			t.Fatal(err)
		}
		if err := g.DisconnectCritical(false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if s := h.Snapshot(); !s.Shed || s.CriticalOff {
			t.Fatalf("home shed %v, off %v; want shed and on", s.Shed, s.CriticalOff)
		}
	})
}
