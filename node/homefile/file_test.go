package homefile_test

import (
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/node/homefile"
)

const good = `
home: home-1
neighborhood: oak-street
network: demo
data_dir: /tmp/gridmesh-home-1
http: 127.0.0.1:8181
target_w: 1.5 kW
devices:
  - name: house
    kinds: [battery, meter, pv]
    driver: sim
    sim:
      seed: 7
      battery: {capacity: 13.5 kWh, max_charge: 5 kW, max_discharge: 5 kW, efficiency: 90%, initial_soc: 0.6, reserve: 20%}
      pv: {peak: 4 kW}
      load: {base: 400 W, evening_peak: 1200, critical: 0.4}
admission: {open: true}
`

func TestParseGood(t *testing.T) {
	f, err := homefile.Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if f.Home != "home-1" || f.Neighborhood != "oak-street" || len(f.Devices) != 1 {
		t.Fatalf("parsed %+v", f)
	}
	b := f.Devices[0].Sim.Battery
	if b.Capacity != 13500 || b.MaxCharge != 5000 || b.Efficiency != 0.9 || b.Reserve != 0.2 {
		t.Errorf("battery %+v", b)
	}
	if *f.TargetW != 1500 {
		t.Errorf("target %v", *f.TargetW)
	}
}

func TestParseNamesTheLine(t *testing.T) {
	for name, c := range map[string]struct {
		from, to string
		want     string
	}{
		"unknown top key":    {"http: 127.0.0.1:8181", "htp: 127.0.0.1:8181", "line 6: field htp not found"},
		"unknown nested key": {"pv: {peak: 4 kW}", "pv: {peek: 4 kW}", "line 15: field peek not found"},
		"bad power":          {"max_charge: 5 kW", "max_charge: five", "line 14: power \"five\""},
		"power out of range": {"max_charge: 5 kW", "max_charge: 5000 kW", "line 14: power \"5000 kW\": outside"},
		"bad fraction":       {"initial_soc: 0.6", "initial_soc: 1.6", "line 14: fraction \"1.6\""},
		"bad id":             {"home: home-1", "home: home 1", "line 2: identifier \"home 1\""},
		"wrong type":         {"seed: 7", "seed: [7]", "line 13"},
		"unknown kind":       {"kinds: [battery, meter, pv]", "kinds: [battery, meter, toaster]", "line 9: device house: kind \"toaster\""},
		"unknown driver":     {"driver: sim", "driver: zigbee", "line 9: device house: driver \"zigbee\""},
	} {
		t.Run(name, func(t *testing.T) {
			src := strings.Replace(good, c.from, c.to, 1)
			if src == good {
				t.Fatalf("test case does not change the file")
			}
			_, err := homefile.Parse([]byte(src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseCrossFieldRules(t *testing.T) {
	for name, c := range map[string]struct{ src, want string }{
		"empty":         {"", "empty home file"},
		"no home":       {"neighborhood: a\ndata_dir: /x\ndevices: []\n", "home: required"},
		"no devices":    {"home: a\nneighborhood: b\ndata_dir: /x\n", "devices: required"},
		"two documents": {"home: a\n---\nhome: b\n", "more than one YAML document"},
		"mqtt two kinds": {`home: a
neighborhood: b
data_dir: /x
devices:
  - name: d
    kinds: [battery, meter]
    driver: mqtt
    mqtt: {broker: "tcp://127.0.0.1:1883", state_topic: s, set_topic: t}
`, "one kind per device"},
		"wrong block": {`home: a
neighborhood: b
data_dir: /x
devices:
  - name: d
    kinds: [battery, meter]
    driver: sim
    sunspec: {addr: "127.0.0.1:1502"}
`, "needs its own block"},
		"duplicate kind": {`home: a
neighborhood: b
data_dir: /x
devices:
  - name: d1
    kinds: [battery, meter]
    driver: sunspec
    sunspec: {addr: "127.0.0.1:1502"}
  - name: d2
    kinds: [battery]
    driver: sunspec
    sunspec: {addr: "127.0.0.1:1503"}
`, "line 9: device d2: a battery is already served by device d1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := homefile.Parse([]byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}
