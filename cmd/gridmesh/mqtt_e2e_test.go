package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/mosquittotest"
	"github.com/gridmesh/gridmesh/devices/mqtt/mqttsim"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
)

// The example MQTT home, run as `gridmesh node`, against a battery and a
// meter that publish once a second, the battery ramping at 2 kW/s and
// reacting 0.3 s late: its first setpoint follows the battery's first
// state within 1.5 s, and after SIGTERM the battery hears the release
// payload within 2 s. Both are measured from when a client of the broker
// of the test's own sees the messages. The figures are in
// docs/BENCHMARKS.md.
func TestExampleMQTTHomeStartsAndReleases(t *testing.T) {
	t.Parallel() // real sockets and a real process
	broker := mosquittotest.New(t).Addr()
	seen := watch(t, broker, "home-1/battery/#")
	path := exampleHome(t, "home-mqtt.yaml", "broker: tcp://127.0.0.1:1883", "broker: "+broker)
	p := startNode(t, path)
	p.statusURL(t)
	serveMQTTDevices(t, broker)

	state := seen.first(t, "the battery's first state", func(m message) bool { return m.topic == "home-1/battery/state" })
	set := seen.first(t, "the first setpoint", func(m message) bool {
		return m.topic == "home-1/battery/set" && strings.Contains(m.payload, "power_w")
	})
	latency := set.at.Sub(state.at)
	t.Logf("first setpoint %v after the battery's first state (%s)", latency.Round(time.Millisecond), set.payload)
	if latency > 1500*time.Millisecond {
		t.Errorf("first setpoint %v after the device's first state, want within 1.5 s", latency)
	}

	at := p.terminate(t)
	rel := seen.first(t, "the release payload", func(m message) bool {
		return m.topic == "home-1/battery/set" && m.payload == `{"mode": "auto"}`
	})
	t.Logf("release payload %v after SIGTERM", rel.at.Sub(at).Round(time.Millisecond))
	if d := rel.at.Sub(at); d > releaseBound || d < 0 {
		t.Errorf("release payload %v after SIGTERM, want within %v", d, releaseBound)
	}
	p.wait(t)
}

// message is one MQTT message and when the test's client received it.
type message struct {
	topic, payload string
	at             time.Time
}

// watched are the messages a client of the test's own received.
type watched struct {
	mu   sync.Mutex
	msgs []message
}

// watch subscribes to topic at the broker and records what arrives.
func watch(t *testing.T, broker, topic string) *watched {
	t.Helper()
	w := &watched{}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("watcher"))
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		at := time.Now()
		w.mu.Lock()
		w.msgs = append(w.msgs, message{m.Topic(), string(m.Payload()), at})
		w.mu.Unlock()
	})
	if tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return w
}

// first waits up to 30 s for a message matching and returns the first.
func (w *watched) first(t *testing.T, what string, match func(message) bool) message {
	t.Helper()
	var got message
	eventuallyWithin(t, 30*time.Second, what, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, m := range w.msgs {
			if match(m) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// serveMQTTDevices puts a night-time sim home's battery (ramping at
// 2 kW/s, 0.3 s late) and meter on the broker under home-1/, publishing
// once a second, until the test ends.
func serveMQTTDevices(t *testing.T, broker string) {
	t.Helper()
	p := sunspecserver.DefaultSimHome()
	p.Battery.Hardware = sim.BatteryHardware{RampWPerS: 2000, ReactionDelay: 300 * time.Millisecond}
	night, t0 := time.Date(2026, 1, 15, 22, 0, 0, 0, time.UTC), time.Now()
	home, err := sim.NewHome(p, func() time.Time { return night.Add(time.Since(t0)) })
	if err != nil {
		t.Fatal(err)
	}
	bcfg := mqttsim.DefaultConfig(mqtt.KindBattery)
	bcfg.Device.Broker, bcfg.Device.StateTopic, bcfg.Device.SetTopic = broker, "home-1/battery/state", "home-1/battery/set"
	mcfg := mqttsim.DefaultConfig(mqtt.KindMeter)
	mcfg.Device.Broker, mcfg.Device.StateTopic = broker, "home-1/meter/state"
	bsim, err := mqttsim.NewBattery(bcfg, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	msim, err := mqttsim.NewMeter(mcfg, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []*mqttsim.Sim{bsim, msim} {
		wg.Go(func() {
			if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("mqtt sim: %v", err)
			}
		})
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}
