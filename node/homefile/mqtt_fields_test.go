package homefile

import (
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/devices/mqtt"
)

const mqttHome = `
home: home-1
neighborhood: oak-street
data_dir: /tmp/gridmesh-home-1
devices:
  - name: battery
    kinds: [battery]
    driver: mqtt
    mqtt:
      broker: tcp://127.0.0.1:1883
      preset: victron
      device_id: c0619ab12345
      fields:
        min: -5000
        max: 5 000
        capacity: 10000
        grid: {topic: N/c0619ab12345/grid/30/Ac/Power, path: value}
  - name: meter
    kinds: [meter]
    driver: mqtt
    mqtt:
      broker: tcp://127.0.0.1:1883
      state_topic: tele/meter/SENSOR
      fields:
        net: "jq:.ENERGY.Power | add"
        voltage: ENERGY.Voltage
        frequency: {topic: meter/freq}
        grid_ok: true
`

// A preset, constants, fields on their own topics and jq expressions, as
// the home file gives them, reach the driver's config.
func TestMQTTFields(t *testing.T) {
	f, err := Parse([]byte(strings.Replace(mqttHome, "5 000", "5000", 1)))
	if err != nil {
		t.Fatal(err)
	}
	bat, err := mqttConfig("battery", mqtt.KindBattery, f.Devices[0].MQTT)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"min": "const:-5000", "max": "const:5000", "capacity": "const:10000",
		"grid":  "topic:N/c0619ab12345/grid/30/Ac/Power#value",
		"power": "topic:N/c0619ab12345/system/0/Dc/Battery/Power#value",
	}
	for k, v := range want {
		if bat.Fields[k] != v {
			t.Errorf("battery field %s = %q, want %q", k, bat.Fields[k], v)
		}
	}
	if bat.SetTopic != "W/c0619ab12345/settings/0/Settings/CGwacs/AcPowerSetPoint" || bat.KeepaliveTopic == "" || !bat.SoCPercent {
		t.Errorf("battery config %+v", bat)
	}
	meter, err := mqttConfig("meter", mqtt.KindMeter, f.Devices[1].MQTT)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"net": "jq:.ENERGY.Power | add", "voltage": "ENERGY.Voltage", "frequency": "topic:meter/freq", "grid_ok": "const:true"}
	for k, v := range want {
		if meter.Fields[k] != v {
			t.Errorf("meter field %s = %q, want %q", k, meter.Fields[k], v)
		}
	}
}

// Mistakes in an MQTT block are found when the file is read, naming the
// field.
func TestMQTTFieldsRefused(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"5 000", "lots", `"max"`},
		{"jq:.ENERGY.Power | add", "jq:.ENERGY.Power |", `"net"`},
		{"{topic: meter/freq}", "{topic: meter/freq, paht: x}", `"paht"`},
		{"{topic: meter/freq}", "{topic: meter/freq, path: a, jq: .b}", "not both"},
		{"preset: victron", "preset: fronius", "preset"},
		{"device_id: c0619ab12345", "device_id: ''", "device_id"},
		{"preset: victron", "preset: tasmota", "for a meter"},
	} {
		_, err := Parse([]byte(strings.Replace(strings.Replace(mqttHome, "5 000", "5000", 1), tc.from, tc.to, 1)))
		if tc.from == "5 000" {
			_, err = Parse([]byte(strings.Replace(mqttHome, "5 000", tc.to, 1)))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: %v, want an error mentioning %s", tc.from, tc.to, err, tc.want)
		}
	}
}

// The MQTT example homes parse, and lay their devices out for the
// driver.
func TestMQTTExamples(t *testing.T) {
	for _, name := range []string{"home-mqtt.yaml", "home-mqtt-victron.yaml"} {
		f, err := Load("../../examples/" + name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, d := range f.Devices {
			cfg, err := mqttConfig(string(d.Name), mqtt.Kind(d.Kinds[0]), d.MQTT)
			if err == nil {
				err = cfg.Validate()
			}
			if err != nil {
				t.Errorf("%s: device %s: %v", name, d.Name, err)
			}
		}
	}
}
