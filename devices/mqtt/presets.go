package mqtt

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// PresetParams name the device a preset reaches.
type PresetParams struct {
	// ID is the device's name in its topics: the Tasmota topic, the
	// Shelly's topic prefix (its device ID unless changed), the OpenDTU
	// inverter's serial number, the Victron GX device's VRM portal ID.
	ID string
	// Base is OpenDTU's base topic (default "solar").
	Base string
	// Instance is the Victron battery's device instance (e.g. 512; empty:
	// the system's own battery figures, N/<id>/system/0/Dc/Battery/...),
	// or the Shelly EM1 channel (default 0).
	Instance string
}

// preset lays out one firmware's topics and payloads for one kind.
type preset struct {
	kind Kind
	doc  string // where the layout is documented
	// apply sets the topics, fields and setpoint of c, a DefaultConfig of
	// kind, for the device p names.
	apply func(c *Config, p PresetParams)
}

// Preset timing, and why.
const (
	// tasmotaStaleAfter: Tasmota publishes SENSOR every TelePeriod
	// (300 s by default); set TelePeriod 10, and three missed periods
	// make the meter stale.
	tasmotaStaleAfter = 30 * time.Second
	// victronKeepaliveEvery: a GX device stops publishing 60 s after the
	// last keepalive, and publishes a value only when it changes; a
	// keepalive with an empty payload makes it publish every value again.
	// Every 10 s (the GX documentation's own example) keeps unchanging
	// figures (a full battery's SoC) fresh.
	victronKeepaliveEvery = 10 * time.Second
	// victronStaleAfter is three keepalive periods.
	victronStaleAfter = 3 * victronKeepaliveEvery
)

// presets is the table of presets by name. It is never modified.
var presets = map[string]preset{
	"tasmota": {kind: KindMeter, doc: "https://tasmota.github.io/docs/MQTT/ (tele/<topic>/SENSOR)",
		apply: func(c *Config, p PresetParams) {
			c.StateTopic = "tele/" + p.ID + "/SENSOR"
			// A three-phase meter sends an array per figure: net power is
			// the sum, voltage the first phase's.
			setFields(c, map[string]string{
				"net":       `jq:.ENERGY.Power | if type == "array" then add else . end`,
				"voltage":   `jq:.ENERGY.Voltage | if type == "array" then .[0] else . end`,
				"frequency": "ENERGY.Frequency",
			})
			c.StaleAfter = tasmotaStaleAfter
		}},
	"shelly-em1": {kind: KindMeter, doc: "https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/EM1 (status on <id>/status/em1:<channel>)",
		apply: func(c *Config, p PresetParams) {
			channel := p.Instance
			if channel == "" {
				channel = "0"
			}
			c.StateTopic = p.ID + "/status/em1:" + channel
			setFields(c, map[string]string{"net": "act_power", "voltage": "voltage", "frequency": "freq"})
		}},
	"opendtu": {kind: KindPV, doc: "https://github.com/tbnobody/OpenDTU/blob/master/docs/MQTT_Topics.md",
		apply: func(c *Config, p PresetParams) {
			base := p.Base
			if base == "" {
				base = "solar"
			}
			inv := base + "/" + p.ID
			c.StateTopic = ""
			setFields(c, map[string]string{
				"power": "topic:" + inv + "/0/power",
				"limit": "topic:" + inv + "/status/limit_absolute",
				// peak: the inverter's rating, const:<W> in the config.
			})
			c.SetTopic = inv + "/cmd/limit_nonpersistent_absolute"
			c.SetTemplate = "{{.PowerW}}"
		}},
	"victron": {kind: KindBattery, doc: "https://github.com/victronenergy/dbus-flashmq (N/, W/ and R/<portal ID>/keepalive)",
		apply: func(c *Config, p PresetParams) {
			n := "topic:N/" + p.ID
			power, soc := n+"/system/0/Dc/Battery/Power#value", n+"/system/0/Dc/Battery/Soc#value"
			if p.Instance != "" {
				bat := n + "/battery/" + p.Instance
				power, soc = bat+"/Dc/0/Power#value", bat+"/Soc#value"
			}
			c.StateTopic = ""
			setFields(c, map[string]string{
				"power": power,
				"soc":   soc,
				// The ESS holds the grid point at its setpoint: the
				// setpoint for a battery power needs the grid power
				// (single phase here; map grid to a grid meter's
				// N/<id>/grid/<inst>/Ac/Power#value on three phases).
				"grid": n + "/system/0/Ac/Grid/L1/Power#value",
				// min, max, capacity: const:<W>, const:<W>, const:<Wh>.
			})
			c.SoCPercent = true
			c.SetTopic = "W/" + p.ID + "/settings/0/Settings/CGwacs/AcPowerSetPoint"
			c.SetTemplate = `{"value": {{.GridW}}}`
			// 0 W at the grid point: the ESS's own self-consumption.
			c.ReleasePayload = `{"value": 0}`
			c.WillPayload = c.ReleasePayload
			c.KeepaliveTopic = "R/" + p.ID + "/keepalive"
			c.KeepalivePayload = ""
			c.KeepaliveEvery = victronKeepaliveEvery
			c.StaleAfter = victronStaleAfter
		}},
}

// setFields unmaps every field, then maps those given.
func setFields(c *Config, fields map[string]string) {
	for name := range c.Fields {
		c.Fields[name] = ""
	}
	maps.Copy(c.Fields, fields)
}

// Presets lists the presets' names, sorted.
func Presets() []string { return slices.Sorted(maps.Keys(presets)) }

// PresetKind reports the kind a preset is for.
func PresetKind(name string) (Kind, bool) {
	p, ok := presets[name]
	return p.kind, ok
}

// ApplyPreset lays c out as the named preset's firmware publishes, for
// the device p names: topics, fields, set topic and template, and
// whatever else the firmware needs (a keepalive, a stale time, a release
// payload). c must be of the preset's kind. Fields the firmware does not
// publish (a battery's limits, an inverter's peak) are left unmapped:
// give them as constants. Set explicit fields after, to override.
func ApplyPreset(c *Config, name string, p PresetParams) error {
	ps, ok := presets[name]
	switch {
	case !ok:
		return fmt.Errorf("%w: preset %q: want one of %v", ErrInvalidConfig, name, Presets())
	case ps.kind != c.Kind:
		return fmt.Errorf("%w: preset %s is for a %s, not a %s", ErrInvalidConfig, name, ps.kind, c.Kind)
	case p.ID == "":
		return fmt.Errorf("%w: preset %s needs the device's ID in its topics", ErrInvalidConfig, name)
	case strings.ContainsAny(p.ID+p.Instance, "/+#") || strings.ContainsAny(p.Base, "+#"):
		return fmt.Errorf("%w: preset %s: ID and instance are single topic levels, and none has wildcards", ErrInvalidConfig, name)
	}
	ps.apply(c, p)
	return nil
}
