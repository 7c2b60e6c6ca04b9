package homefile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gridmesh/gridmesh/devices/mqtt"
)

// MQTTField is where one figure of an MQTT device's state is read. In
// the home file it is one of:
//
//	power: ENERGY.Power                  # a JSON key or path of the state payload
//	power: "jq:.ENERGY.Power | add"      # a jq expression over it
//	power: "topic:solar/114/0/power"     # a topic of its own, plain value
//	power: {topic: N/x/system/0/Dc/Battery/Power, path: value}
//	power: {topic: m/p, jq: ".value * 1000"}
//	capacity: 10000                      # a constant the device does not publish
//	power: ""                            # not read
//
// It holds the driver's own form (see mqtt.Config.Fields).
type MQTTField string

// UnmarshalYAML reads a field as a string, a number or boolean (a
// constant), or a mapping of topic and path or jq.
func (f *MQTTField) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float", "!!bool":
			*f = MQTTField("const:" + n.Value)
		default:
			*f = MQTTField(n.Value)
		}
		return nil
	case yaml.MappingNode:
		var m struct {
			Topic string `yaml:"topic"`
			Path  string `yaml:"path"`
			JQ    string `yaml:"jq"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		if err := strictKeys(n, "topic", "path", "jq"); err != nil {
			return err
		}
		switch {
		case m.Path != "" && m.JQ != "":
			return fmt.Errorf("line %d: a field has a path or a jq expression, not both", n.Line)
		case m.Topic == "" && m.Path == "" && m.JQ == "":
			return fmt.Errorf("line %d: a field needs a topic, a path or a jq expression", n.Line)
		}
		extract := m.Path
		if m.JQ != "" {
			extract = "jq:" + m.JQ
		}
		switch {
		case m.Topic == "":
			*f = MQTTField(extract)
		case extract == "":
			*f = MQTTField("topic:" + m.Topic)
		default:
			*f = MQTTField("topic:" + m.Topic + "#" + extract)
		}
		return nil
	}
	return fmt.Errorf("line %d: a field is a path, a jq: expression, a topic: or a number, or {topic, path|jq}", n.Line)
}

// strictKeys refuses keys of a mapping other than those allowed (a
// typo such as "paht" must not be read as nothing).
func strictKeys(n *yaml.Node, allowed ...string) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("line %d: field key %q: want one of %v", k.Line, k.Value, allowed)
		}
	}
	return nil
}

// validate checks the block: that the device is placed somewhere (by a
// preset or its own topics), then everything the driver checks (a jq
// expression that does not compile, a constant out of range), so a
// mistake is found when the file is read.
func (m *MQTT) validate(kind string) error {
	if err := m.validatePlace(kind); err != nil {
		return err
	}
	cfg, err := mqttConfig(kind, mqtt.Kind(kind), m)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	return nil
}

// validatePlace checks that the device is placed somewhere, by a preset
// or its own topics.
func (m *MQTT) validatePlace(kind string) error {
	if m.Broker == "" {
		return errors.New("mqtt: broker is required")
	}
	if m.Preset != "" {
		k, ok := mqtt.PresetKind(m.Preset)
		switch {
		case !ok:
			return fmt.Errorf("mqtt: preset %q: want one of %v", m.Preset, mqtt.Presets())
		case string(k) != kind:
			return fmt.Errorf("mqtt: preset %s is for a %s, not a %s", m.Preset, k, kind)
		case m.DeviceID == "":
			return fmt.Errorf("mqtt: preset %s needs device_id (the device's name in its topics)", m.Preset)
		}
		return nil
	}
	if m.DeviceID != "" || m.Instance != "" || m.Base != "" {
		return errors.New("mqtt: device_id, instance and base go with a preset")
	}
	if m.StateTopic == "" && !m.fieldTopics() {
		return errors.New("mqtt: state_topic is required (or a preset, or fields on topics of their own)")
	}
	if kind != "meter" && kind != "loads" && m.SetTopic == "" {
		return fmt.Errorf("mqtt: set_topic is required for a %s", kind)
	}
	return nil
}

// fieldTopics reports whether some field names a topic of its own.
func (m *MQTT) fieldTopics() bool {
	for _, f := range m.Fields {
		if strings.HasPrefix(string(f), "topic:") {
			return true
		}
	}
	return false
}

// mqttConfig lays out the driver's config for an MQTT device: the
// kind's defaults, then the preset's layout, then what the file sets
// explicitly (topics, fields, payloads override the preset's).
func mqttConfig(name string, kind mqtt.Kind, m *MQTT) (mqtt.Config, error) {
	cfg := mqtt.DefaultConfig(kind)
	if m.Preset != "" {
		p := mqtt.PresetParams{ID: m.DeviceID, Instance: m.Instance, Base: m.Base}
		if err := mqtt.ApplyPreset(&cfg, m.Preset, p); err != nil {
			return mqtt.Config{}, err
		}
	}
	cfg.Broker, cfg.ClientID, cfg.Username, cfg.Password = m.Broker, m.ClientID, m.Username, m.Password
	cfg.Device = name
	override(&cfg.StateTopic, m.StateTopic)
	override(&cfg.SetTopic, m.SetTopic)
	override(&cfg.SetTemplate, m.SetPayload)
	override(&cfg.ReleasePayload, m.ReleasePayload)
	override(&cfg.WillPayload, m.WillPayload)
	cfg.SoCPercent = cfg.SoCPercent || m.SoCPercent
	if r := m.Resolution; r != nil {
		cfg.ResolutionW = float64(*r)
	}
	for k, v := range m.Fields {
		cfg.Fields[k] = string(v)
	}
	if m.StaleAfter != nil {
		cfg.StaleAfter = time.Duration(*m.StaleAfter)
	}
	return cfg, nil
}

// override sets *dst to v when v is set.
func override(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
