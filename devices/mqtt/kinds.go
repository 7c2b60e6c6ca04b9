package mqtt

import (
	"fmt"

	"github.com/gridmesh/gridmesh"
)

// Kind is what a device is, and so which reading its state payload
// carries and which setpoint it takes.
type Kind string

// The kinds of device the driver speaks for, one per capability interface
// of package control.
const (
	KindBattery  Kind = "battery"
	KindMeter    Kind = "meter"
	KindPV       Kind = "pv"
	KindCharger  Kind = "charger"
	KindHeatPump Kind = "heatpump"
	KindLoads    Kind = "loads"
)

// Kinds lists every kind, in a stable order.
func Kinds() []Kind {
	return []Kind{KindBattery, KindMeter, KindPV, KindCharger, KindHeatPump, KindLoads}
}

// Plausibility bounds for figures that gridmesh has no bound for. They
// refuse garbage (a temperature of 1e300) without second-guessing a real
// device.
const (
	// maxVoltageV is above any household RMS voltage (400 V between
	// phases, plus surges a meter might still report).
	maxVoltageV = 1000
	// maxFrequencyHz is far above any grid's 50 or 60 Hz.
	maxFrequencyHz = 100
	// minTempC and maxTempC bound a room or outdoor temperature: colder or
	// hotter than anywhere a heat pump runs is a broken sensor.
	minTempC, maxTempC = -100, 100
	// maxUnixMs is 2⁵³: every integer up to it is exact in a float64,
	// and it is far past any departure time (year 287,396).
	maxUnixMs = 1 << 53
)

// valueType is the JSON type a field must have.
type valueType int

const (
	number  valueType = iota // a JSON number
	integer                  // a JSON number without fraction or exponent
	boolean                  // true or false
)

// value is one decoded field: num for a number or integer, flag for a
// boolean.
type value struct {
	num  float64
	flag bool
}

// field is one figure of a kind's state payload.
type field struct {
	// name is the field's name in Config.Fields (the logical name).
	name string
	// key is the JSON key DefaultConfig maps it to.
	key      string
	typ      valueType
	required bool
	// lo and hi bound a number or integer, inclusive.
	lo, hi float64
	// percent marks the state of charge, read as 0..100 with
	// Config.SoCPercent.
	percent bool
	// set stores the value in the reading.
	set func(s *state, v value)
}

// setpoint describes the setpoint a kind takes.
type setpoint struct {
	// template is DefaultConfig's SetTemplate.
	template string
	// lo and hi bound a commanded power: a finite setpoint outside is
	// clamped (the device clamps further to its own limits).
	lo, hi gridmesh.W
}

// kindSpec is everything kind-specific: the payload's fields, how to
// finish the reading, the setpoint.
type kindSpec struct {
	fields []field
	// finish fills what absent optional fields leave open (has reports
	// whether a field was in the payload) and checks across fields.
	finish func(s *state, has func(name string) bool) error
	// set is nil for a kind that takes no setpoint (a meter).
	set *setpoint
}

// state is one decoded state payload: only the reading of the device's
// kind is set.
type state struct {
	battery  gridmesh.Flexibility
	meter    gridmesh.MeterReading
	pv       gridmesh.PVState
	charger  gridmesh.ChargerState
	heatPump gridmesh.HeatPumpState
	loads    gridmesh.LoadState
	// gridW is a battery system's own grid reading (hasGrid: it has one),
	// for a set template that renders GridW.
	gridW   float64
	hasGrid bool
}

const maxW = float64(gridmesh.MaxHomePowerW)

// powerField is a power in [lo, hi] watts.
func powerField(name, key string, required bool, lo, hi float64, set func(*state, gridmesh.W)) field {
	return field{name: name, key: key, typ: number, required: required, lo: lo, hi: hi,
		set: func(s *state, v value) { set(s, gridmesh.W(v.num)) }}
}

// numberField is a plain number in [lo, hi].
func numberField(name, key string, required bool, lo, hi float64, set func(*state, float64)) field {
	return field{name: name, key: key, typ: number, required: required, lo: lo, hi: hi,
		set: func(s *state, v value) { set(s, v.num) }}
}

// boolField is true or false.
func boolField(name, key string, required bool, set func(*state, bool)) field {
	return field{name: name, key: key, typ: boolean, required: required,
		set: func(s *state, v value) { set(s, v.flag) }}
}

// specs is the table of kinds. It is never modified.
var specs = map[Kind]*kindSpec{
	KindBattery: {
		fields: []field{
			powerField("power", "power_w", true, -maxW, maxW, func(s *state, w gridmesh.W) { s.battery.PowerW = w }),
			{name: "soc", key: "soc", typ: number, required: true, lo: 0, hi: 1, percent: true,
				set: func(s *state, v value) { s.battery.SoC = v.num }},
			powerField("min", "min_w", true, -maxW, 0, func(s *state, w gridmesh.W) { s.battery.MinW = w }),
			powerField("max", "max_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.battery.MaxW = w }),
			numberField("capacity", "capacity_wh", true, 0, float64(gridmesh.MaxHomeEnergyWh), func(s *state, x float64) { s.battery.CapacityWh = gridmesh.Wh(x) }),
			numberField("charge", "charge_wh", false, 0, float64(gridmesh.MaxHomeEnergyWh), func(s *state, x float64) { s.battery.ChargeWh = gridmesh.Wh(x) }),
			numberField("discharge", "discharge_wh", false, 0, float64(gridmesh.MaxHomeEnergyWh), func(s *state, x float64) { s.battery.DischargeWh = gridmesh.Wh(x) }),
			// grid is not mapped by default: a battery system that is
			// steered through a grid setpoint reports it.
			{name: "grid", typ: number, lo: -maxW, hi: maxW,
				set: func(s *state, v value) { s.gridW, s.hasGrid = v.num, true }},
		},
		finish: func(s *state, has func(string) bool) error {
			// A device that does not say what energy it can still take or
			// give (after losses and reserve) is taken at its SoC's word:
			// the capacity's shares above and below it.
			f := &s.battery
			if !has("charge") {
				f.ChargeWh = gridmesh.Wh(1-f.SoC) * f.CapacityWh
			}
			if !has("discharge") {
				f.DischargeWh = gridmesh.Wh(f.SoC) * f.CapacityWh
			}
			return f.Validate()
		},
		set: &setpoint{template: `{"power_w": {{.PowerW}}}`, lo: -gridmesh.MaxHomePowerW, hi: gridmesh.MaxHomePowerW},
	},
	KindMeter: {
		fields: []field{
			powerField("net", "net_w", true, -maxW, maxW, func(s *state, w gridmesh.W) { s.meter.NetW = w }),
			numberField("voltage", "voltage_v", false, 0, maxVoltageV, func(s *state, x float64) { s.meter.VoltageV = x }),
			numberField("frequency", "frequency_hz", false, 0, maxFrequencyHz, func(s *state, x float64) { s.meter.FrequencyHz = x }),
			boolField("grid_ok", "grid_ok", false, func(s *state, b bool) { s.meter.GridOK = b }),
		},
		finish: func(s *state, has func(string) bool) error {
			// A meter that cannot tell reports a grid it still measures.
			if !has("grid_ok") {
				s.meter.GridOK = true
			}
			return nil
		},
	},
	KindPV: {
		fields: []field{
			powerField("power", "power_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.pv.PowerW = w }),
			powerField("available", "available_w", false, 0, maxW, func(s *state, w gridmesh.W) { s.pv.AvailableW = w }),
			powerField("limit", "limit_w", false, 0, maxW, func(s *state, w gridmesh.W) { s.pv.LimitW = w }),
			powerField("peak", "peak_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.pv.PeakW = w }),
		},
		finish: func(s *state, has func(string) bool) error {
			if !has("available") {
				s.pv.AvailableW = s.pv.PowerW // the inverter cannot tell
			}
			if !has("limit") {
				s.pv.LimitW = s.pv.PeakW // no limit known: none
			}
			return nil
		},
		set: &setpoint{template: `{"limit_w": {{.PowerW}}}`, lo: 0, hi: gridmesh.MaxHomePowerW},
	},
	KindCharger: {
		fields: []field{
			boolField("connected", "connected", true, func(s *state, b bool) { s.charger.Connected = b }),
			powerField("power", "power_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.charger.PowerW = w }),
			powerField("min", "min_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.charger.MinW = w }),
			powerField("max", "max_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.charger.MaxW = w }),
			numberField("wanted", "wanted_wh", false, 0, float64(gridmesh.MaxHomeEnergyWh), func(s *state, x float64) { s.charger.WantedWh = gridmesh.Wh(x) }),
			{name: "departure", key: "departure_ms", typ: integer, lo: 0, hi: maxUnixMs,
				set: func(s *state, v value) { s.charger.DepartureMs = int64(v.num) }},
		},
		finish: func(s *state, _ func(string) bool) error {
			if s.charger.MinW > s.charger.MaxW {
				return fmt.Errorf("charger range [%v, %v] is empty", s.charger.MinW, s.charger.MaxW)
			}
			return nil
		},
		set: &setpoint{template: `{"power_w": {{.PowerW}}}`, lo: 0, hi: gridmesh.MaxHomePowerW},
	},
	KindHeatPump: {
		fields: []field{
			powerField("power", "power_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.heatPump.PowerW = w }),
			powerField("max", "max_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.heatPump.MaxW = w }),
			numberField("indoor", "indoor_c", true, minTempC, maxTempC, func(s *state, x float64) { s.heatPump.IndoorC = x }),
			numberField("outdoor", "outdoor_c", true, minTempC, maxTempC, func(s *state, x float64) { s.heatPump.OutdoorC = x }),
			numberField("band_low", "band_low_c", true, minTempC, maxTempC, func(s *state, x float64) { s.heatPump.BandLowC = x }),
			numberField("band_high", "band_high_c", true, minTempC, maxTempC, func(s *state, x float64) { s.heatPump.BandHighC = x }),
		},
		finish: func(s *state, _ func(string) bool) error {
			if s.heatPump.BandLowC > s.heatPump.BandHighC {
				return fmt.Errorf("comfort band %v..%v °C is empty", s.heatPump.BandLowC, s.heatPump.BandHighC)
			}
			return nil
		},
		set: &setpoint{template: `{"power_w": {{.PowerW}}}`, lo: 0, hi: gridmesh.MaxHomePowerW},
	},
	KindLoads: {
		fields: []field{
			powerField("critical", "critical_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.loads.CriticalW = w }),
			powerField("noncritical", "noncritical_w", true, 0, maxW, func(s *state, w gridmesh.W) { s.loads.NonCriticalW = w }),
			boolField("shed", "shed", true, func(s *state, b bool) { s.loads.Shed = b }),
		},
		finish: func(*state, func(string) bool) error { return nil },
		set:    &setpoint{template: `{"shed": {{.Shed}}}`},
	},
}
