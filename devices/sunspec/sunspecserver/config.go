package sunspecserver

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
)

// The devices a Server can put behind a SunSpec register map (package
// devices states them once for the layer): anything that stands in for a
// device there (a devices/sim home, a test fake) can be served. A Battery
// is served as models 124 and 802, a Meter as 203, a PV inverter as 120,
// 103 and 123 (or 704).
type (
	Battery = devices.Battery
	Meter   = devices.Meter
	PV      = devices.PV
)

// Devices are what a Server serves; a nil device is absent.
type Devices struct {
	Battery Battery
	Meter   Meter
	PV      PV
}

// Fallback is what the battery does under no setpoint: before the first
// one, and after a setpoint's reversion time has passed.
type Fallback int

const (
	// FallbackSelfConsumption steers the battery to hold the meter at
	// 0 W, within its limits, as a hybrid inverter does on its own.
	FallbackSelfConsumption Fallback = iota
	// FallbackIdle holds the battery at 0 W.
	FallbackIdle
)

// Config is a Server's register map and behaviour.
type Config struct {
	// Base is the 0-based register address of the "SunS" marker: 40000,
	// 0 or 50000.
	Base uint16
	// UnitID is the only Modbus unit ID the server answers to.
	UnitID uint8
	// Models are the models served, in chain order after the marker. Nil
	// serves every model the devices support: 1, 120, 103, 123, 124, 802,
	// 203 (704 and 160 only when listed). A chain without 802 serves a
	// battery that does not report its power there: 160 (when listed)
	// and 103's DCW still show it.
	Models []uint16
	// Manufacturer, Model and Serial fill model 1.
	Manufacturer, Model, Serial string
	// BatteryMaxChargeW and BatteryMaxDischargeW are the battery's rated
	// powers (124's WChaMax, 802's WChaRteMax and WDisChaRteMax); required
	// with a battery, since a full battery's Flexibility reports 0.
	BatteryMaxChargeW, BatteryMaxDischargeW gridmesh.W
	// BatteryReserveSoC is the state of charge the battery keeps back for
	// outages, 0..1 (0: none), served as 124's MinRsvPct. A Battery's
	// Flexibility does not carry it, so it is configured: set the served
	// battery's own (sim.BatteryParams.ReserveSoC). It is served as is
	// even while the battery may dip into it (an islanded sim home).
	BatteryReserveSoC float64
	// Fallback is the battery's behaviour under no setpoint.
	Fallback Fallback
	// StorageRates is how the server reads 124's rates: as a window
	// (RatesWindow, the default) or as the setpoint (RatesNet). Devices
	// differ; the driver's sunspec.Config.StorageRates must match.
	StorageRates StorageRates
}

// StorageRates is a reading of 124's InWRte and OutWRte.
type StorageRates int

const (
	// RatesWindow: with StorCtl_Mod's CHARGE bit the charge power is at
	// most InWRte % of WChaMax, with its DISCHARGE bit the discharge power
	// at most OutWRte %; a negative rate forces the other direction; the
	// battery does its fallback within the window.
	RatesWindow StorageRates = iota
	// RatesNet: with either bit set the rates are the setpoint: the
	// battery charges at InWRte % (CHARGE bit) less OutWRte % (DISCHARGE
	// bit) of WChaMax, whatever the fallback would do.
	RatesNet
)

// Model numbers served.
const (
	modelCommon      uint16 = 1
	modelInverter    uint16 = 103
	modelNameplate   uint16 = 120
	modelControls    uint16 = 123
	modelStorage     uint16 = 124
	modelMeter       uint16 = 203
	modelMPPT        uint16 = 160
	modelDERControls uint16 = 704
	modelBattery     uint16 = 802
)

// DefaultConfig returns the map at 40000 for unit 1, with self-consumption
// as the fallback.
func DefaultConfig() Config {
	return Config{Base: 40000, UnitID: 1, Manufacturer: "gridmesh", Model: "sim-hybrid", Serial: "0001"}
}

// models returns the chain to serve for dev.
func (c Config) models(dev Devices) []uint16 {
	if c.Models != nil {
		return c.Models
	}
	ms := []uint16{modelCommon}
	if dev.PV != nil || dev.Battery != nil {
		ms = append(ms, modelNameplate, modelInverter)
	}
	if dev.PV != nil {
		ms = append(ms, modelControls)
	}
	if dev.Battery != nil {
		ms = append(ms, modelStorage, modelBattery)
	}
	if dev.Meter != nil {
		ms = append(ms, modelMeter)
	}
	return ms
}

// validate checks the configuration against the devices served.
func (c Config) validate(dev Devices) error {
	if c.Base != 0 && c.Base != 40000 && c.Base != 50000 {
		return fmt.Errorf("sunspecserver: base %d is not 0, 40000 or 50000", c.Base)
	}
	ms := c.models(dev)
	if len(ms) == 0 {
		return errors.New("sunspecserver: no models")
	}
	for i, m := range ms {
		if slices.Contains(ms[:i], m) {
			return fmt.Errorf("sunspecserver: model %d listed twice", m)
		}
		var ok bool
		switch m {
		case modelCommon:
			ok = true
		case modelNameplate, modelInverter, modelMPPT:
			ok = dev.PV != nil || dev.Battery != nil
		case modelControls, modelDERControls:
			ok = dev.PV != nil
		case modelStorage, modelBattery:
			ok = dev.Battery != nil
		case modelMeter:
			ok = dev.Meter != nil
		default:
			return fmt.Errorf("sunspecserver: model %d not served by this server", m)
		}
		if !ok {
			return fmt.Errorf("sunspecserver: model %d needs a device the server was not given", m)
		}
	}
	if dev.Battery != nil {
		for _, w := range []gridmesh.W{c.BatteryMaxChargeW, c.BatteryMaxDischargeW} {
			if !w.Finite() || w <= 0 || w > 65_534 {
				return fmt.Errorf("sunspecserver: battery rating %v outside (0, 65534] W", w)
			}
		}
	}
	if r := c.BatteryReserveSoC; !(r >= 0 && r <= 1) { // NaN fails too
		return fmt.Errorf("sunspecserver: battery reserve %v outside [0, 1]", r)
	}
	if c.StorageRates != RatesWindow && c.StorageRates != RatesNet {
		return fmt.Errorf("sunspecserver: unknown storage rates reading %d", c.StorageRates)
	}
	if c.Fallback != FallbackSelfConsumption && c.Fallback != FallbackIdle {
		return fmt.Errorf("sunspecserver: unknown fallback %d", c.Fallback)
	}
	return nil
}
