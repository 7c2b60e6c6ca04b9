package homefile

import (
	"errors"
	"fmt"
)

// Sim is a simulated home's devices: physics on this machine, for trying
// gridmesh without hardware.
type Sim struct {
	Battery *SimBattery `yaml:"battery"`
	PV      *SimPV      `yaml:"pv"`
	Load    *SimLoad    `yaml:"load"`
	// Seed varies the simulated weather and household.
	Seed uint64 `yaml:"seed"`
}

// SimBattery is a simulated battery.
type SimBattery struct {
	Capacity   Energy   `yaml:"capacity"`
	MaxCharge  Power    `yaml:"max_charge"`
	MaxDischg  Power    `yaml:"max_discharge"`
	Efficiency Fraction `yaml:"efficiency"`
	InitialSoC Fraction `yaml:"initial_soc"`
	Reserve    Fraction `yaml:"reserve"`
	// Hardware gives the battery a real one's manners; none: ideal.
	Hardware *SimHardware `yaml:"hardware"`
}

// SimHardware is how a simulated battery answers commands as real ones
// do (sim.BatteryHardware): to reproduce, from a home file, a device the
// loop must cope with.
type SimHardware struct {
	// RampPerS is how far its power moves in a second (0: at once).
	RampPerS Power `yaml:"ramp_per_s"`
	// ReactionDelay is how long after a command it starts to move.
	ReactionDelay Duration `yaml:"reaction_delay"`
	// Noise is the standard deviation of the power it reports.
	Noise Power `yaml:"noise"`
	// HidesPower: it reports its power as 0 whatever it delivers (a
	// SunSpec battery without model 802).
	HidesPower bool `yaml:"hides_power"`
}

// SimPV is a simulated PV array.
type SimPV struct {
	Peak Power `yaml:"peak"`
}

// SimLoad is a simulated household load.
type SimLoad struct {
	Base        Power `yaml:"base"`
	EveningPeak Power `yaml:"evening_peak"`
	// Critical is the share of the load that must always be served.
	Critical Fraction `yaml:"critical"`
}

// MQTT is a device reached through an MQTT broker.
type MQTT struct {
	Broker     string `yaml:"broker"`
	ClientID   string `yaml:"client_id"`
	Username   string `yaml:"username"`
	Password   string `yaml:"password"`
	StateTopic string `yaml:"state_topic"`
	SetTopic   string `yaml:"set_topic"`
	// Fields maps the reading's fields to where they are read (see
	// MQTTField); they override the preset's.
	Fields map[string]MQTTField `yaml:"fields"`
	// Preset lays the device out as a widely used firmware publishes
	// (tasmota, shelly-em1, opendtu, victron); DeviceID, Instance and
	// Base name the device in its topics.
	Preset     string    `yaml:"preset"`
	DeviceID   string    `yaml:"device_id"`
	Instance   string    `yaml:"instance"`
	Base       string    `yaml:"base"`
	SetPayload string    `yaml:"set_payload"`
	StaleAfter *Duration `yaml:"stale_after"`
	// SoCPercent reads a battery's state of charge as 0..100.
	SoCPercent bool `yaml:"soc_percent"`
	// ReleasePayload is published on set_topic when the node stops,
	// WillPayload by the broker when the node dies without disconnecting.
	ReleasePayload string `yaml:"release_payload"`
	WillPayload    string `yaml:"will_payload"`
	// Resolution is the step setpoints are rounded to (default 1 W).
	Resolution *Power `yaml:"resolution"`
}

// SunSpec is an inverter or battery reached over Modbus TCP.
type SunSpec struct {
	Addr             string    `yaml:"addr"`
	UnitID           uint8     `yaml:"unit_id"`
	Timeout          *Duration `yaml:"timeout"`
	ReversionTimeout *Duration `yaml:"reversion_timeout"`
	// RoundTripEfficiency is the battery's datasheet efficiency: SunSpec
	// carries none, and energy to full or empty depends on it.
	RoundTripEfficiency *Fraction `yaml:"round_trip_efficiency"`
	// MinWriteInterval paces setpoint writes to the device (default 1s);
	// Deadband is the least move written (default 20 W).
	MinWriteInterval *Duration `yaml:"min_write_interval"`
	Deadband         *Power    `yaml:"deadband"`
	// StorageRates is how the device reads model 124's rates: window
	// (default) or net.
	StorageRates string `yaml:"storage_rates"`
}

// validateDriver checks the driver block's own rules.
func (d *Device) validateDriver() error {
	switch d.Driver {
	case "sim":
		if b := d.Sim.Battery; b != nil && (b.Capacity <= 0 || b.MaxCharge <= 0 || b.MaxDischg <= 0) {
			return errors.New("sim: battery: capacity, max_charge and max_discharge must be positive")
		}
		if b := d.Sim.Battery; b != nil && b.Hardware != nil {
			if err := b.Hardware.battery(d.Sim.Seed).Validate(); err != nil {
				return fmt.Errorf("sim: battery: hardware: %w", err)
			}
		}
	case "mqtt":
		if len(d.Kinds) != 1 {
			return fmt.Errorf("mqtt: one kind per device (a topic pair carries one device), got %v", d.Kinds)
		}
		return d.MQTT.validate(d.Kinds[0])
	case "sunspec":
		for _, k := range d.Kinds {
			if k != "battery" && k != "meter" && k != "pv" {
				return fmt.Errorf("sunspec: serves battery, meter and pv, not %s", k)
			}
		}
		if d.SunSpec.Addr == "" {
			return errors.New("sunspec: addr (host:port) is required")
		}
		if r := d.SunSpec.StorageRates; r != "" && r != "window" && r != "net" {
			return fmt.Errorf("sunspec: storage_rates %q: want window or net", r)
		}
	case "ocpp":
		return d.validateOCPP()
	}
	return nil
}
