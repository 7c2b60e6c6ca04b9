package mqtt

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// A field read by path, jq, its own topic or a constant.
func TestDecodeSources(t *testing.T) {
	const st = "home/meter/state"
	cases := []struct {
		name    string
		fields  map[string]string
		topic   string
		payload string
		want    gridmesh.MeterReading
	}{
		{"nested path", map[string]string{"net": "ENERGY.Power"}, st, `{"ENERGY": {"Power": 812.5}}`,
			gridmesh.MeterReading{NetW: 812.5, GridOK: true}},
		{"array index", map[string]string{"net": "inverter.0.AC.1.Power.v"}, st,
			`{"inverter": [{"AC": [{"Power": {"v": 1}}, {"Power": {"v": "-230.5"}}]}]}`,
			gridmesh.MeterReading{NetW: -230.5, GridOK: true}},
		{"numeric key in an object", map[string]string{"net": "phases.1"}, st, `{"phases": {"1": 40}}`,
			gridmesh.MeterReading{NetW: 40, GridOK: true}},
		{"jq sum", map[string]string{"net": `jq:.ENERGY.Power | add`}, st, `{"ENERGY": {"Power": [100, 200.5, -50]}}`,
			gridmesh.MeterReading{NetW: 250.5, GridOK: true}},
		{"jq import minus export", map[string]string{"net": `jq:.p_in - .p_out`, "grid_ok": `jq:.state == "ok"`}, st,
			`{"p_in": 120, "p_out": 1020, "state": "ok"}`,
			gridmesh.MeterReading{NetW: -900, GridOK: true}},
		{"optional absent by path", map[string]string{"net": "a.b", "voltage": "a.v.0"}, st, `{"a": {"b": 1, "v": []}}`,
			gridmesh.MeterReading{NetW: 1, GridOK: true}},
		{"own topic plain number", map[string]string{"net": "topic:meter/power"}, "meter/power", " 1234.5\n",
			gridmesh.MeterReading{NetW: 1234.5, GridOK: true}},
		{"own topic quoted number", map[string]string{"net": "topic:meter/power"}, "meter/power", `"-17"`,
			gridmesh.MeterReading{NetW: -17, GridOK: true}},
		{"own topic ON", map[string]string{"net": "const:10", "grid_ok": "topic:meter/grid"}, "meter/grid", `ON`,
			gridmesh.MeterReading{NetW: 10, GridOK: true}},
		{"own topic off", map[string]string{"net": "const:10", "grid_ok": "topic:meter/grid"}, "meter/grid", `off`,
			gridmesh.MeterReading{NetW: 10}},
		{"own topic with path", map[string]string{"net": "topic:N/x/grid/30/Ac/Power#value"}, "N/x/grid/30/Ac/Power", `{"value": 77}`,
			gridmesh.MeterReading{NetW: 77, GridOK: true}},
		{"own topic with jq", map[string]string{"net": "topic:m/p#jq:.value * 1000"}, "m/p", `{"value": 1.5}`,
			gridmesh.MeterReading{NetW: 1500, GridOK: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(KindMeter)
			for f := range c.Fields {
				c.Fields[f] = ""
			}
			for f, s := range tc.fields {
				c.Fields[f] = s
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			d := connectedDevice(t, c)
			d.receive(tc.topic, []byte(tc.payload))
			s, err := d.read("read")
			if err != nil {
				t.Fatal(err)
			}
			if s.meter != tc.want {
				t.Fatalf("got %+v, want %+v", s.meter, tc.want)
			}
		})
	}
}

// connectedDevice is a device of c that counts as connected, at a fixed
// time.
func connectedDevice(t *testing.T, c Config) *Device {
	t.Helper()
	d, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return now }
	d.connected = true
	return d
}

// What a source refuses in a payload.
func TestDecodeSourcesRefuse(t *testing.T) {
	cases := []struct {
		name, field, topic, payload, want string
	}{
		{"path into a number", "a.b", "home/meter/state", `{"a": 5}`, `"net"`},
		{"jq error", `jq:.a | error("boom")`, "home/meter/state", `{"a": 5}`, "boom"},
		{"jq string", `jq:.a`, "home/meter/state", `{"a": "five"}`, "want a number"},
		{"jq runs too long", `jq:[range(1e9)] | length`, "home/meter/state", `{}`, "deadline"},
		{"plain text", "topic:m/p", "m/p", `five`, "want a number"},
		{"empty", "topic:m/p", "m/p", ``, "empty"},
		{"JSON object as a plain value", "topic:m/p", "m/p", `{"value": 1}`, "want a number"},
		{"null value", "topic:m/p#value", "m/p", `{"value": null}`, `"net"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(KindMeter)
			c.Fields["net"] = tc.field
			d := connectedDevice(t, c)
			d.receive(tc.topic, []byte(tc.payload))
			if st := d.Stats(); st.DecodeErrors != 1 {
				t.Fatalf("stats %+v: want the payload refused", st)
			}
			_, err := d.dec.decode(tc.topic, []byte(tc.payload))
			if !errors.Is(err, ErrBadPayload) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want ErrBadPayload mentioning %q", err, tc.want)
			}
		})
	}
}

// A source that cannot be read is a config error naming its field.
func TestSourceConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		field string
		src   string
		want  string
	}{
		{"bad jq", "net", "jq:.a |", `field "net": jq`},
		{"empty path segment", "net", "a..b", `field "net": path`},
		{"wildcard topic", "voltage", "topic:meter/+/v", `field "voltage": topic`},
		{"nothing after #", "net", "topic:m/p#", `field "net": nothing after`},
		{"bad constant", "net", "const:lots", `field "net": constant`},
		{"constant out of range", "voltage", "const:5000", `field "voltage"`},
		{"constant of the wrong type", "grid_ok", "const:12", `field "grid_ok"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(KindMeter)
			c.Fields[tc.field] = tc.src
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want ErrInvalidConfig mentioning %q", err, tc.want)
			}
		})
	}
	c := validConfig(KindBattery)
	c.Fields["power"] = "topic:" + c.SetTopic
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "also read for state") {
		t.Fatalf("a field on the set topic: %v", err)
	}
	c = validConfig(KindMeter)
	c.StateTopic = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "no state topic") {
		t.Fatalf("paths without a state topic: %v", err)
	}
	c = validConfig(KindBattery)
	c.SetTemplate = `{"value": {{.GridW}}}`
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "grid") {
		t.Fatalf("GridW without a grid field: %v", err)
	}
}

// FuzzDecodeSources feeds any payload to fields read by path, jq and
// plain value, on their topics. Garbage must never panic, never yield a
// figure out of range, and never change the state when refused.
func FuzzDecodeSources(f *testing.F) {
	for _, s := range []string{
		`{"ENERGY": {"Power": [1, 2, 3], "Voltage": 230}}`, `{"ENERGY": {"Power": "12.5"}}`, `{"value": 12}`,
		`{"value": null}`, `12.5`, `"12"`, `ON`, `off`, ``, `[]`, `null`, `{"ENERGY": {"Power": 1e999}}`, "\xff",
		`{"ENERGY": {"Power": [1e308, 1e308]}}`, `{"a": [[[[[[[]]]]]]]}`,
	} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(1), []byte(s))
		f.Add(uint8(2), []byte(s))
	}
	topics := []string{"m/sensor", "m/power", "m/grid"}
	f.Fuzz(func(t *testing.T, sel uint8, payload []byte) {
		c := validConfig(KindMeter)
		c.StateTopic = "m/sensor"
		c.Fields["net"] = `jq:.ENERGY.Power | if type == "array" then add else . end`
		c.Fields["voltage"] = "ENERGY.Voltage"
		c.Fields["frequency"] = "topic:m/power#value"
		c.Fields["grid_ok"] = "topic:m/grid"
		d, err := New(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := slicesClone(d)
		d.receive(topics[int(sel)%len(topics)], payload)
		st := d.Stats()
		d.mu.Lock()
		defer d.mu.Unlock()
		if st.DecodeErrors == 1 {
			if d.have || !equalSlots(d.slots, before) {
				t.Fatalf("refused payload changed the state")
			}
			return
		}
		if d.have {
			if err := checkState(KindMeter, d.st); err != nil {
				t.Fatalf("payload %q gave a bad reading %+v: %v", payload, d.st, err)
			}
		}
	})
}

// slicesClone copies d's slots.
func slicesClone(d *Device) []slot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]slot(nil), d.slots...)
}

// equalSlots compares two slot lists.
func equalSlots(a, b []slot) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
