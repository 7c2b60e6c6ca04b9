package mqtt

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// message is one MQTT message of a testdata file.
type message struct{ topic, payload string }

// readMessages reads testdata/presets/<name>.txt: "# comment" lines, and
// one message a line as "<topic> <payload>" (the payload may be empty).
func readMessages(t *testing.T, name string) []message {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "presets", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []message
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		topic, payload, _ := strings.Cut(line, " ")
		msgs = append(msgs, message{topic, payload})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// presetDevice is a device laid out by a preset, with extra fields set
// over it, whose clock reads *now.
func presetDevice(t *testing.T, name string, p PresetParams, extra map[string]string, now *time.Time) *Device {
	t.Helper()
	k, ok := PresetKind(name)
	if !ok {
		t.Fatalf("no preset %q", name)
	}
	c := DefaultConfig(k)
	c.Broker = "tcp://127.0.0.1:1883"
	if err := ApplyPreset(&c, name, p); err != nil {
		t.Fatal(err)
	}
	for f, s := range extra {
		c.Fields[f] = s
	}
	d, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.now = func() time.Time { return *now }
	d.mu.Lock()
	d.connected = true // as if Run had subscribed
	d.mu.Unlock()
	return d
}

// feed hands every message of the preset's testdata to d.
func feed(t *testing.T, d *Device, file string) {
	t.Helper()
	for _, m := range readMessages(t, file) {
		d.receive(m.topic, []byte(m.payload))
	}
	if st := d.Stats(); st.DecodeErrors != 0 {
		t.Fatalf("documented payloads refused: %+v", st)
	}
}

// Each preset decodes the payloads its firmware's documentation shows.
func TestPresetsDecodeDocumentedPayloads(t *testing.T) {
	soc := 57.0 / 100
	cases := []struct {
		preset string
		params PresetParams
		extra  map[string]string
		want   state
	}{
		{"tasmota", PresetParams{ID: "livingroom-lamp"}, nil,
			state{meter: gridmesh.MeterReading{NetW: 5, VoltageV: 233, GridOK: true}}},
		{"shelly-em1", PresetParams{ID: "shellyproem50-08f9e0e5a2b4", Instance: "1"}, nil,
			state{meter: gridmesh.MeterReading{NetW: 501.8, VoltageV: 234.9, FrequencyHz: 50, GridOK: true}}},
		{"opendtu", PresetParams{ID: "114182912345"}, map[string]string{"peak": "const:1600"},
			state{pv: gridmesh.PVState{PowerW: 312.5, AvailableW: 312.5, LimitW: 800, PeakW: 1600}}},
		{"victron", PresetParams{ID: "c0619ab12345"},
			map[string]string{"min": "const:-5000", "max": "const:5000", "capacity": "const:10000"},
			state{battery: gridmesh.Flexibility{PowerW: -1200, SoC: soc, MinW: -5000, MaxW: 5000, CapacityWh: 10000,
				ChargeWh: gridmesh.Wh(1-soc) * 10000, DischargeWh: gridmesh.Wh(soc) * 10000}, gridW: 350, hasGrid: true}},
	}
	for _, tc := range cases {
		t.Run(tc.preset, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			d := presetDevice(t, tc.preset, tc.params, tc.extra, &now)
			feed(t, d, tc.preset)
			got, err := d.read("read")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// The Victron preset steers the ESS's grid setpoint so that the battery
// delivers the power asked for, sends keepalives, and releases to 0 W.
func TestPresetVictronSetpoint(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	d := presetDevice(t, "victron", PresetParams{ID: "c0619ab12345"},
		map[string]string{"min": "const:-5000", "max": "const:5000", "capacity": "const:10000"}, &now)
	b, _ := d.AsBattery()
	if err := b.SetBatteryPower(1000); !errors.Is(err, gridmesh.ErrUnavailable) {
		t.Fatalf("setpoint before the grid is known: %v, want ErrUnavailable", err)
	}
	feed(t, d, "victron")
	// Grid 350 W with the battery at −1200 W: the house draws 1550 W
	// without it; charging 1000 W needs 2550 W from the grid.
	if err := b.SetBatteryPower(1000); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	got := string(d.setpoint)
	d.mu.Unlock()
	if got != `{"value": 2550}` {
		t.Fatalf("set payload %q, want {\"value\": 2550}", got)
	}
	// The house draws 100 W more: the held 1000 W needs 2650 W.
	d.receive("N/c0619ab12345/system/0/Ac/Grid/L1/Power", []byte(`{"value": 450}`))
	d.mu.Lock()
	got = string(d.setpoint)
	d.mu.Unlock()
	if got != `{"value": 2650}` {
		t.Fatalf("set payload after the load rose %q, want {\"value\": 2650}", got)
	}
	c := d.cfg
	if c.SetTopic != "W/c0619ab12345/settings/0/Settings/CGwacs/AcPowerSetPoint" || c.KeepaliveTopic != "R/c0619ab12345/keepalive" ||
		c.ReleasePayload != `{"value": 0}` || c.KeepaliveEvery <= 0 || c.KeepaliveEvery*6 > time.Minute {
		t.Fatalf("victron layout %+v", c)
	}
}

// The OpenDTU preset writes the limit as a plain number on the
// non-persistent absolute limit topic.
func TestPresetOpenDTULimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	d := presetDevice(t, "opendtu", PresetParams{ID: "114182912345", Base: "home/solar"}, map[string]string{"peak": "const:1600"}, &now)
	if d.cfg.SetTopic != "home/solar/114182912345/cmd/limit_nonpersistent_absolute" {
		t.Fatalf("set topic %q", d.cfg.SetTopic)
	}
	p, _ := d.AsPV()
	if err := p.SetPVLimit(600.4); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if string(d.setpoint) != "600" {
		t.Fatalf("set payload %q, want 600", d.setpoint)
	}
}

// A Victron value that is invalid ({"value": null}) or a device that
// left the bus (an empty payload) refuses the payload; a topic whose
// figure stops arriving makes the state stale.
func TestPresetVictronGaps(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	d := presetDevice(t, "victron", PresetParams{ID: "c0619ab12345", Instance: "512"},
		map[string]string{"min": "const:-5000", "max": "const:5000", "capacity": "const:10000"}, &now)
	power, soc := "N/c0619ab12345/battery/512/Dc/0/Power", "N/c0619ab12345/battery/512/Soc"
	d.receive(soc, []byte(`{"value": 80}`))
	if _, err := d.read("read"); err == nil || !strings.Contains(err.Error(), "power") {
		t.Fatalf("read with no power yet: %v, want waiting for power", err)
	}
	d.receive(power, []byte(`{"value": 900}`))
	d.receive("N/c0619ab12345/system/0/Ac/Grid/L1/Power", []byte(`{"value": 100}`))
	if s, err := d.read("read"); err != nil || s.battery.PowerW != 900 || s.battery.SoC != 0.8 {
		t.Fatalf("read %+v, %v", s.battery, err)
	}
	for _, p := range []string{`{"value": null}`, ``} {
		d.receive(power, []byte(p))
	}
	if st := d.Stats(); st.DecodeErrors != 2 {
		t.Fatalf("stats %+v: want the null and the empty payload refused", st)
	}
	// Power keeps arriving; the SoC does not.
	now = now.Add(victronStaleAfter / 2)
	d.receive(power, []byte(`{"value": 950}`))
	now = now.Add(victronStaleAfter/2 + time.Second)
	d.receive(power, []byte(`{"value": 960}`))
	if _, err := d.read("read"); !errors.Is(err, gridmesh.ErrUnavailable) {
		t.Fatalf("read with the SoC %v old: %v, want stale", victronStaleAfter, err)
	}
	d.receive(soc, []byte(`{"value": 79.5}`))
	if s, err := d.read("read"); err != nil || s.battery.PowerW != 960 || s.battery.SoC != 0.795 {
		t.Fatalf("read after the SoC came back: %+v, %v", s.battery, err)
	}
}

// Fields set after a preset override its own; a preset refuses the wrong
// kind and a missing ID; a required field the firmware does not publish
// must be given.
func TestPresetConfig(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	d := presetDevice(t, "tasmota", PresetParams{ID: "livingroom-lamp"}, map[string]string{"net": "ENERGY.ApparentPower", "voltage": ""}, &now)
	d.receive("tele/livingroom-lamp/SENSOR", []byte(`{"ENERGY": {"Power": 5, "ApparentPower": 7, "Voltage": 233}}`))
	if s, err := d.read("read"); err != nil || s.meter.NetW != 7 || s.meter.VoltageV != 0 {
		t.Fatalf("override: %+v, %v", s.meter, err)
	}

	c := DefaultConfig(KindBattery)
	if err := ApplyPreset(&c, "tasmota", PresetParams{ID: "x"}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("tasmota on a battery: %v", err)
	}
	if err := ApplyPreset(&c, "victron", PresetParams{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("victron without ID: %v", err)
	}
	if err := ApplyPreset(&c, "victron", PresetParams{ID: "a/#"}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("victron with a wildcard ID: %v", err)
	}
	if err := ApplyPreset(&c, "nope", PresetParams{ID: "x"}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("unknown preset: %v", err)
	}
	if err := ApplyPreset(&c, "victron", PresetParams{ID: "x"}); err != nil {
		t.Fatal(err)
	}
	c.Broker = "tcp://127.0.0.1:1883"
	err := c.Validate()
	for _, f := range []string{`"min"`, `"max"`, `"capacity"`} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("victron without %s: %v", f, err)
		}
	}
}

// Every preset lays out a config that validates once the fields its
// firmware does not publish are given.
func TestPresetsValidate(t *testing.T) {
	consts := map[Kind]map[string]string{
		KindBattery: {"min": "const:-1", "max": "const:1", "capacity": "const:1"},
		KindPV:      {"peak": "const:1"},
	}
	for _, name := range Presets() {
		k, _ := PresetKind(name)
		c := DefaultConfig(k)
		c.Broker = "tcp://127.0.0.1:1883"
		if err := ApplyPreset(&c, name, PresetParams{ID: "dev1"}); err != nil {
			t.Fatal(err)
		}
		for f, s := range consts[k] {
			c.Fields[f] = s
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
