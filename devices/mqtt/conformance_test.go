package mqtt_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/mosquittotest"
	"github.com/gridmesh/gridmesh/devices/mqtt/mqttsim"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// TestConformance runs the device conformance suite against the driver:
// driver ⇄ mosquitto ⇄ mqttsim ⇄ a device of the suite's sim.Home.
func TestConformance(t *testing.T) {
	addr := mosquittotest.New(t).Addr()
	var seq atomic.Uint64 // one topic pair per subtest

	// harness starts a simulator for the home's device of kind k (made by
	// newSim) and a driver of it, and returns the driver's adapter.
	harness := func(t *testing.T, k mqtt.Kind, newSim func(mqttsim.Config, sim.Devices) (*mqttsim.Sim, error)) (*mqtt.Device, *sim.Home) {
		t.Helper()
		home := devicetest.NewHome(t)
		name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + string(rune('a'+seq.Add(1)%26))
		dc, sc := configs(addr, k, name)
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return newSim(c, home.Devices()) })
		return d, home
	}
	t.Run("battery", func(t *testing.T) {
		devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
			d, home := harness(t, mqtt.KindBattery, func(c mqttsim.Config, ds sim.Devices) (*mqttsim.Sim, error) {
				return mqttsim.NewBattery(c, ds.Battery, nil)
			})
			b, _ := d.AsBattery()
			return devicetest.Harness[devicetest.BatteryDriver]{Driver: b, Home: home}
		})
	})
	t.Run("meter", func(t *testing.T) {
		devicetest.Meter(t, func(t *testing.T) devicetest.Harness[devicetest.MeterDriver] {
			d, home := harness(t, mqtt.KindMeter, func(c mqttsim.Config, ds sim.Devices) (*mqttsim.Sim, error) {
				return mqttsim.NewMeter(c, ds.Meter, nil)
			})
			m, _ := d.AsMeter()
			return devicetest.Harness[devicetest.MeterDriver]{Driver: m, Home: home}
		})
	})
	t.Run("pv", func(t *testing.T) {
		devicetest.PV(t, func(t *testing.T) devicetest.Harness[devicetest.PVDriver] {
			d, home := harness(t, mqtt.KindPV, func(c mqttsim.Config, ds sim.Devices) (*mqttsim.Sim, error) {
				return mqttsim.NewPV(c, ds.PV, nil)
			})
			p, _ := d.AsPV()
			return devicetest.Harness[devicetest.PVDriver]{Driver: p, Home: home}
		})
	})
	t.Run("charger", func(t *testing.T) {
		devicetest.Charger(t, func(t *testing.T) devicetest.Harness[devicetest.ChargerDriver] {
			d, home := harness(t, mqtt.KindCharger, func(c mqttsim.Config, ds sim.Devices) (*mqttsim.Sim, error) {
				return mqttsim.NewCharger(c, ds.Charger, nil)
			})
			c, _ := d.AsCharger()
			return devicetest.Harness[devicetest.ChargerDriver]{Driver: c, Home: home}
		})
	})
	t.Run("heatpump", func(t *testing.T) {
		devicetest.HeatPump(t, func(t *testing.T) devicetest.Harness[devicetest.HeatPumpDriver] {
			d, home := harness(t, mqtt.KindHeatPump, func(c mqttsim.Config, ds sim.Devices) (*mqttsim.Sim, error) {
				return mqttsim.NewHeatPump(c, ds.HeatPump, nil)
			})
			h, _ := d.AsHeatPump()
			return devicetest.Harness[devicetest.HeatPumpDriver]{Driver: h, Home: home}
		})
	})
	t.Run("loads", func(t *testing.T) {
		devicetest.Loads(t, func(t *testing.T) devicetest.Harness[devicetest.LoadsDriver] {
			d, home := harness(t, mqtt.KindLoads, func(c mqttsim.Config, ds sim.Devices) (*mqttsim.Sim, error) {
				return mqttsim.NewLoads(c, ds.Loads, nil)
			})
			l, _ := d.AsLoads()
			return devicetest.Harness[devicetest.LoadsDriver]{Driver: l, Home: home}
		})
	})
}
