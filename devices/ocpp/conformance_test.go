package ocpp_test

import (
	"testing"

	"github.com/gridmesh/gridmesh/devices/devicetest"
)

// TestConformance runs the charger suite against the driver with ocpp-go's
// own charge point (ocppsim) in front of NewHome's charger, over a real
// websocket on 127.0.0.1. The profiles are in watts (the charge point
// takes both units): amperes to the tenth resolve 69 W on three phases,
// coarser than the suite's 10 W.
func TestConformance(t *testing.T) {
	devicetest.Charger(t, func(t *testing.T) devicetest.Harness[devicetest.ChargerDriver] {
		home := devicetest.NewHome(t)
		car := home.Devices().Charger
		st, _ := car.Charger()
		cfg := testConfig()
		// The site's figures, set to the simulated charger's: its range
		// (1.4-11 kW on three phases) and what its car wants.
		cfg.MinCurrentA = float64(st.MinW) / (3 * 230)
		cfg.MaxCurrentA = float64(st.MaxW) / (3 * 230)
		cfg.SessionWh = st.WantedWh
		drv := startDriver(t, cfg)
		startSim(t, drv, simConfig(), car)
		return devicetest.Harness[devicetest.ChargerDriver]{Driver: drv, Home: home}
	})
}
