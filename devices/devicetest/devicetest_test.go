package devicetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/guard"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// The suites run against the simulated devices themselves (the reference
// every driver is held to) and through a guard in front of them.

func TestSimConformance(t *testing.T) {
	t.Run("battery", func(t *testing.T) {
		devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
			h := devicetest.NewHome(t)
			return devicetest.Harness[devicetest.BatteryDriver]{Driver: h.Devices().Battery, Home: h}
		})
	})
	t.Run("meter", func(t *testing.T) {
		devicetest.Meter(t, func(t *testing.T) devicetest.Harness[devicetest.MeterDriver] {
			h := devicetest.NewHome(t)
			return devicetest.Harness[devicetest.MeterDriver]{Driver: h.Devices().Meter, Home: h}
		})
	})
	t.Run("pv", func(t *testing.T) {
		devicetest.PV(t, func(t *testing.T) devicetest.Harness[devicetest.PVDriver] {
			h := devicetest.NewHome(t)
			return devicetest.Harness[devicetest.PVDriver]{Driver: h.Devices().PV, Home: h}
		})
	})
	t.Run("charger", func(t *testing.T) {
		devicetest.Charger(t, func(t *testing.T) devicetest.Harness[devicetest.ChargerDriver] {
			h := devicetest.NewHome(t)
			return devicetest.Harness[devicetest.ChargerDriver]{Driver: h.Devices().Charger, Home: h}
		})
	})
	t.Run("heat pump", func(t *testing.T) {
		devicetest.HeatPump(t, func(t *testing.T) devicetest.Harness[devicetest.HeatPumpDriver] {
			h := devicetest.NewHome(t)
			return devicetest.Harness[devicetest.HeatPumpDriver]{Driver: h.Devices().HeatPump, Home: h}
		})
	})
	t.Run("loads", func(t *testing.T) {
		devicetest.Loads(t, func(t *testing.T) devicetest.Harness[devicetest.LoadsDriver] {
			h := devicetest.NewHome(t)
			return devicetest.Harness[devicetest.LoadsDriver]{Driver: h.Devices().Loads, Home: h}
		})
	})
}

// fastGuard polls every 5 ms: the suites run on real time.
func fastGuard() guard.Config {
	c := guard.DefaultConfig()
	c.Period = 5 * time.Millisecond
	c.StaleAfter = 500 * time.Millisecond
	return c
}

// run runs a guard until the test ends.
func run(t *testing.T, g interface{ Run(context.Context) error }) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("guard: %v", err)
		}
	})
}

// guarded builds a guard over a device of a fresh NewHome and runs it.
func guarded[G interface{ Run(context.Context) error }](t *testing.T, build func(sim.Devices) (G, error)) (G, *sim.Home) {
	h := devicetest.NewHome(t)
	g, err := build(h.Devices())
	if err != nil {
		t.Fatal(err)
	}
	run(t, g)
	return g, h
}

func TestGuardedConformance(t *testing.T) {
	cfg := fastGuard()
	t.Run("battery", func(t *testing.T) {
		devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
			g, h := guarded(t, func(d sim.Devices) (*guard.Battery, error) { return guard.NewBattery(d.Battery, cfg, nil) })
			return devicetest.Harness[devicetest.BatteryDriver]{Driver: g, Home: h}
		})
	})
	t.Run("meter", func(t *testing.T) {
		devicetest.Meter(t, func(t *testing.T) devicetest.Harness[devicetest.MeterDriver] {
			g, h := guarded(t, func(d sim.Devices) (*guard.Meter, error) { return guard.NewMeter(d.Meter, cfg, nil) })
			return devicetest.Harness[devicetest.MeterDriver]{Driver: g, Home: h}
		})
	})
	t.Run("pv", func(t *testing.T) {
		devicetest.PV(t, func(t *testing.T) devicetest.Harness[devicetest.PVDriver] {
			g, h := guarded(t, func(d sim.Devices) (*guard.PV, error) { return guard.NewPV(d.PV, cfg, nil) })
			return devicetest.Harness[devicetest.PVDriver]{Driver: g, Home: h}
		})
	})
	t.Run("charger", func(t *testing.T) {
		devicetest.Charger(t, func(t *testing.T) devicetest.Harness[devicetest.ChargerDriver] {
			g, h := guarded(t, func(d sim.Devices) (*guard.Charger, error) { return guard.NewCharger(d.Charger, cfg, nil) })
			return devicetest.Harness[devicetest.ChargerDriver]{Driver: g, Home: h}
		})
	})
	t.Run("heat pump", func(t *testing.T) {
		devicetest.HeatPump(t, func(t *testing.T) devicetest.Harness[devicetest.HeatPumpDriver] {
			g, h := guarded(t, func(d sim.Devices) (*guard.HeatPump, error) { return guard.NewHeatPump(d.HeatPump, cfg, nil) })
			return devicetest.Harness[devicetest.HeatPumpDriver]{Driver: g, Home: h}
		})
	})
	t.Run("loads", func(t *testing.T) {
		devicetest.Loads(t, func(t *testing.T) devicetest.Harness[devicetest.LoadsDriver] {
			g, h := guarded(t, func(d sim.Devices) (*guard.Loads, error) { return guard.NewLoads(d.Loads, cfg, nil) })
			return devicetest.Harness[devicetest.LoadsDriver]{Driver: g, Home: h}
		})
	})
}

// powerOnlyPV is a PV driver that cannot tell what a curtailed array
// could produce: it reports AvailableW = PowerW, as SunSpec's does.
type powerOnlyPV struct{ devicetest.PVDriver }

func (p powerOnlyPV) PV() (gridmesh.PVState, error) {
	s, err := p.PVDriver.PV()
	s.AvailableW = s.PowerW
	return s, err
}

// TestPVAvailableUnknown: with Harness.PVAvailableUnknown the PV suite
// takes AvailableW = PowerW for the potential, and still passes.
func TestPVAvailableUnknown(t *testing.T) {
	devicetest.PV(t, func(t *testing.T) devicetest.Harness[devicetest.PVDriver] {
		h := devicetest.NewHome(t)
		return devicetest.Harness[devicetest.PVDriver]{Driver: powerOnlyPV{h.Devices().PV}, Home: h, PVAvailableUnknown: true}
	})
}

// The battery suite against simulated batteries with hardware's manners,
// on the wall clock (a ramp and a delay need time to pass): a reaction
// delay and a ramp as inverters have them, measurement noise within the
// suite's tolerance, and a battery that does not report its power.
func TestSimBatteryHardwareConformance(t *testing.T) {
	for name, tc := range map[string]struct {
		hw     sim.BatteryHardware
		hidden bool
	}{
		"ramp and delay": {hw: sim.BatteryHardware{RampWPerS: 5_000, ReactionDelay: 200 * time.Millisecond}},
		"noisy":          {hw: sim.BatteryHardware{NoiseW: 2, NoiseSeed: 1}},
		"power hidden":   {hw: sim.BatteryHardware{HidesPower: true}, hidden: true},
	} {
		t.Run(name, func(t *testing.T) {
			devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
				p := devicetest.HomeParams()
				p.Battery.Hardware = tc.hw
				h, err := sim.NewFullHome(p, time.Now)
				if err != nil {
					t.Fatal(err)
				}
				return devicetest.Harness[devicetest.BatteryDriver]{Driver: h.Devices().Battery, Home: h, BatteryPowerHidden: tc.hidden}
			})
		})
	}
}
