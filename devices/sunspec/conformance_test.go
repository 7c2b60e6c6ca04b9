package sunspec_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/devices/sunspec"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
)

// TestConformance runs the device conformance suite against the driver:
// driver ⇄ Modbus TCP ⇄ the Go SunSpec server ⇄ the suite's sim.Home.
func TestConformance(t *testing.T) {
	// dial serves home's battery, meter and PV as one hybrid inverter
	// reading 124's rates as a window, and returns the driver connected to
	// it.
	dial := func(t *testing.T, home *sim.Home) *sunspec.Device { return dialRates(t, home, sunspec.RatesWindow) }
	t.Run("battery", func(t *testing.T) {
		devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
			home := devicetest.NewHome(t)
			b, ok := dial(t, home).BatteryView()
			if !ok {
				t.Fatal("no battery view")
			}
			return devicetest.Harness[devicetest.BatteryDriver]{Driver: b, Home: home}
		})
	})
	// A device that reads 124's rates as the setpoint, driven by a driver
	// configured so.
	t.Run("battery, rates read as net", func(t *testing.T) {
		devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
			home := devicetest.NewHome(t)
			b, ok := dialRates(t, home, sunspec.RatesNet).BatteryView()
			if !ok {
				t.Fatal("no battery view")
			}
			return devicetest.Harness[devicetest.BatteryDriver]{Driver: b, Home: home}
		})
	})
	// Batteries whose device has no 802: the driver derives the power
	// from 160's storage modules, or from 103's DC input less its AC
	// output, and must still read what the battery does.
	for name, models := range map[string][]uint16{
		"battery without 802, power from 160": {1, 120, 103, 160, 123, 124, 203},
		"battery without 802, power from 103": {1, 120, 103, 123, 124, 203},
	} {
		t.Run(name, func(t *testing.T) {
			devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
				home := devicetest.NewHome(t)
				b, ok := dialModels(t, home, sunspec.RatesWindow, models).BatteryView()
				if !ok {
					t.Fatal("no battery view")
				}
				return devicetest.Harness[devicetest.BatteryDriver]{Driver: b, Home: home}
			})
		})
	}
	// A battery with hardware's manners (a reaction delay, a ramp,
	// measurement noise), on the wall clock.
	t.Run("battery with delay, ramp and noise", func(t *testing.T) {
		devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
			p := devicetest.HomeParams()
			p.Battery.Hardware = sim.BatteryHardware{RampWPerS: 5_000, ReactionDelay: 200 * time.Millisecond, NoiseW: 2, NoiseSeed: 1}
			home, err := sim.NewFullHome(p, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			b, ok := dial(t, home).BatteryView()
			if !ok {
				t.Fatal("no battery view")
			}
			return devicetest.Harness[devicetest.BatteryDriver]{Driver: b, Home: home}
		})
	})
	t.Run("meter", func(t *testing.T) {
		devicetest.Meter(t, func(t *testing.T) devicetest.Harness[devicetest.MeterDriver] {
			home := devicetest.NewHome(t)
			m, ok := dial(t, home).MeterView()
			if !ok {
				t.Fatal("no meter view")
			}
			return devicetest.Harness[devicetest.MeterDriver]{Driver: m, Home: home}
		})
	})
	t.Run("pv", func(t *testing.T) {
		devicetest.PV(t, func(t *testing.T) devicetest.Harness[devicetest.PVDriver] {
			home := devicetest.NewHome(t)
			p, ok := dial(t, home).PVView()
			if !ok {
				t.Fatal("no PV view")
			}
			// SunSpec has no point for a curtailed array's potential: the
			// driver reports AvailableW = PowerW.
			return devicetest.Harness[devicetest.PVDriver]{Driver: p, Home: home, PVAvailableUnknown: true}
		})
	})
}

// poll reads every view of d every 50 ms until the test ends, as a guard
// does: the driver writes a held setpoint on a later call to the device
// once its write interval allows, so a caller holding one must keep
// calling it.
func poll(t *testing.T, d *sunspec.Device) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		b, hasB := d.BatteryView()
		p, hasP := d.PVView()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if hasB {
				_, _ = b.Battery() // a failure is the suite's to see
			}
			if hasP {
				_, _ = p.PV()
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// dialRates serves home's battery, meter and PV as one hybrid inverter
// that reads 124's rates as rates says, and returns the driver, configured
// to match, connected to it.
func dialRates(t *testing.T, home *sim.Home, rates sunspec.StorageRates) *sunspec.Device {
	t.Helper()
	return dialModels(t, home, rates, nil)
}

// dialModels is dialRates serving the models listed (nil: the default
// chain).
func dialModels(t *testing.T, home *sim.Home, rates sunspec.StorageRates, models []uint16) *sunspec.Device {
	t.Helper()
	ds := home.Devices()
	cfg := sunspecserver.DefaultConfig()
	p := devicetest.HomeParams()
	cfg.BatteryMaxChargeW, cfg.BatteryMaxDischargeW = p.Battery.MaxChargeW, p.Battery.MaxDischargeW
	cfg.BatteryReserveSoC = p.Battery.ReserveSoC // served as 124's MinRsvPct
	// Idle under no setpoint: the suite checks the battery does what
	// it is told and nothing else.
	cfg.Fallback = sunspecserver.FallbackIdle
	cfg.Models = models
	if rates == sunspec.RatesNet {
		cfg.StorageRates = sunspecserver.RatesNet
	}
	srv, err := sunspecserver.New(cfg, sunspecserver.Devices{Battery: ds.Battery, Meter: ds.Meter, PV: ds.PV}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("server: %v", err)
		}
	})
	dcfg := sunspec.DefaultConfig()
	dcfg.Addr = srv.Addr()
	// SunSpec has no point for it: a site configures its battery's
	// datasheet figure, here the simulated battery's.
	dcfg.RoundTripEfficiency = p.Battery.RoundTripEfficiency
	dcfg.StorageRates = rates
	d, err := sunspec.Dial(context.Background(), dcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	poll(t, d)
	return d
}
