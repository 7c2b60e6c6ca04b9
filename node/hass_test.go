package node_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gridmesh/gridmesh/devices/mqtt/mosquittotest"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/hass"
)

// retained collects what a broker holds and sends, by topic: the newest
// payload and how many arrived.
type retained struct {
	mu    sync.Mutex
	last  map[string][]byte
	count map[string]int
}

func (r *retained) get(topic string) ([]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[topic], r.count[topic]
}

// watchBroker subscribes to everything on the broker at url.
func watchBroker(t *testing.T, url string) (*retained, paho.Client) {
	t.Helper()
	r := &retained{last: map[string][]byte{}, count: map[string]int{}}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("ha-test"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	tok := c.Subscribe("#", 1, func(_ paho.Client, m paho.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.last[m.Topic()] = m.Payload()
		r.count[m.Topic()]++
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return r, c
}

// hassStates decodes the newest state message.
func hassState(t *testing.T, r *retained) (hass.State, int) {
	b, n := r.get("gridmesh/v1/h0/state")
	var s hass.State
	if n > 0 {
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("state %q: %v", b, err)
		}
	}
	return s, n
}

func energies(s hass.State) []float64 {
	return []float64{s.GridImportKWh, s.GridExportKWh, s.BatteryChargeKWh, s.BatteryDischargeKWh, s.PVProductionKWh, s.LoadServedKWh, s.LoadShedKWh}
}

func TestHomeAssistantOverMosquitto(t *testing.T) {
	t.Parallel() // a real broker and sockets: runs beside the bubbles
	broker := mosquittotest.New(t)
	msgs, watcher := watchBroker(t, broker.Addr())
	dir := t.TempDir()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ha := hass.DefaultConfig()
	ha.Broker, ha.Period = broker.Addr(), 100*time.Millisecond
	start := func() *testHome {
		h, _ := ownerHomeWith(t, key, dir, io.Discard, func(c *node.Config) { c.HomeAssistant = &ha })
		return h
	}
	h := start()

	// Discovery: every entity, with the fields Home Assistant needs.
	const prefix = "homeassistant/"
	want := map[string]map[string]any{
		"sensor/gridmesh_h0/grid_import_energy/config":       {"device_class": "energy", "state_class": "total_increasing", "unit_of_measurement": "kWh"},
		"sensor/gridmesh_h0/battery_discharge_energy/config": {"device_class": "energy", "state_class": "total_increasing", "unit_of_measurement": "kWh"},
		"sensor/gridmesh_h0/pv_energy/config":                {"device_class": "energy", "state_class": "total_increasing", "unit_of_measurement": "kWh"},
		"sensor/gridmesh_h0/grid_power/config":               {"device_class": "power", "state_class": "measurement", "unit_of_measurement": "W"},
		"sensor/gridmesh_h0/battery_soc/config":              {"device_class": "battery", "state_class": "measurement", "unit_of_measurement": "%"},
		"number/gridmesh_h0/reserve_pct/config":              {"command_topic": "gridmesh/v1/h0/set/reserve_pct", "min": 0.0, "max": 100.0},
		"switch/gridmesh_h0/opt_out_next/config":             {"command_topic": "gridmesh/v1/h0/set/opt_out_next", "payload_on": "ON"},
		"switch/gridmesh_h0/paused/config":                   {"command_topic": "gridmesh/v1/h0/set/paused", "payload_off": "OFF"},
	}
	waitFor(t, "every discovery config and a state", 20*time.Second, func() bool {
		for topic := range want {
			if _, n := msgs.get(prefix + topic); n == 0 {
				return false
			}
		}
		_, n := hassState(t, msgs)
		return n > 0
	})
	uniques := map[string]bool{}
	for topic, fields := range want {
		b, _ := msgs.get(prefix + topic)
		var cfg map[string]any
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		for k, v := range fields {
			if cfg[k] != v {
				t.Errorf("%s: %s = %v, want %v", topic, k, cfg[k], v)
			}
		}
		if cfg["state_topic"] != "gridmesh/v1/h0/state" || cfg["availability_topic"] != "gridmesh/v1/h0/availability" {
			t.Errorf("%s: state/availability topics %v, %v", topic, cfg["state_topic"], cfg["availability_topic"])
		}
		u, _ := cfg["unique_id"].(string)
		if !strings.HasPrefix(u, "gridmesh_h0_") || uniques[u] {
			t.Errorf("%s: unique_id %q missing or repeated", topic, u)
		}
		uniques[u] = true
		dev, _ := cfg["device"].(map[string]any)
		ids, _ := dev["identifiers"].([]any)
		if len(ids) != 1 || ids[0] != "gridmesh_h0" || dev["name"] == "" || dev["manufacturer"] != "gridmesh" || dev["model"] == nil || dev["sw_version"] == nil {
			t.Errorf("%s: device block %v", topic, dev)
		}
		if !strings.Contains(cfg["value_template"].(string), "value_json.") {
			t.Errorf("%s: value_template %v", topic, cfg["value_template"])
		}
	}
	if b, _ := msgs.get("gridmesh/v1/h0/availability"); string(b) != "online" {
		t.Errorf("availability %q, want online", b)
	}

	// A setting changed through its command topic is applied through the
	// owner API's path: the API shows it, and so does the state topic.
	publish := func(topic, payload string) {
		if tok := watcher.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	publish("gridmesh/v1/h0/set/reserve_pct", "35")
	publish("gridmesh/v1/h0/set/opt_out_next", "ON")
	var st node.OwnerStatus
	waitFor(t, "the command applied", 10*time.Second, func() bool {
		return call(t, h, "GET", "/api/v1/settings", h.n.OwnerToken(), "", &st) == 200 && st.ReservePct == 35 && st.OptOutNext
	})
	waitFor(t, "the state to show it", 10*time.Second, func() bool {
		s, _ := hassState(t, msgs)
		return s.ReservePct == 35 && s.OptOutNext
	})
	publish("gridmesh/v1/h0/set/reserve_pct", "250") // refused: out of range
	publish("gridmesh/v1/h0/set/paused", "ON")
	waitFor(t, "the pause applied", 10*time.Second, func() bool {
		s, _ := hassState(t, msgs)
		return s.Paused && s.Steering == "paused"
	})
	if s := h.n.OwnerSettings(); s.ReservePct != 35 {
		t.Errorf("an out-of-range reserve was applied: %+v", s)
	}
	publish("gridmesh/v1/h0/set/paused", "OFF")

	// Energy counters continue across a restart: once the home has
	// counted some energy, stop it, start it again, and every counter it
	// publishes is at least what it published before.
	waitFor(t, "energy counted", 20*time.Second, func() bool {
		s, _ := hassState(t, msgs)
		return s.BatteryDischargeKWh+s.GridImportKWh > 0 && !s.Paused
	})
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil // for the cleanup
	waitFor(t, "offline announced", 10*time.Second, func() bool {
		b, _ := msgs.get("gridmesh/v1/h0/availability")
		return string(b) == "offline"
	})
	before, n := hassState(t, msgs)
	h = start()
	waitFor(t, "the restarted home's state", 20*time.Second, func() bool {
		b, _ := msgs.get("gridmesh/v1/h0/availability")
		_, m := hassState(t, msgs)
		return string(b) == "online" && m > n
	})
	after, _ := hassState(t, msgs)
	t.Logf("energy kWh before the restart %v, after %v", energies(before), energies(after))
	for i, b := range energies(before) {
		if a := energies(after)[i]; a < b {
			t.Errorf("counter %d went back across the restart: %v -> %v", i, b, a)
		}
	}
	if after.GridImportKWh+after.BatteryDischargeKWh == 0 {
		t.Error("the restarted home counts from zero")
	}
	if after.ReservePct != 35 {
		t.Errorf("reserve %v after the restart, want 35", after.ReservePct)
	}
}
