package node_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

// stall makes a device stop answering: while its gate is set, every call
// blocks until the gate is closed.
type stall struct {
	mu      sync.Mutex
	gate    chan struct{}
	applied []gridmesh.W // every command, at entry
}

func (s *stall) wait() {
	s.mu.Lock()
	g := s.gate
	s.mu.Unlock()
	if g != nil {
		<-g
	}
}

func (s *stall) hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
}

func (s *stall) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

func (s *stall) commands() []gridmesh.W {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.applied)
}

type stallBattery struct {
	stall
	b *sim.Battery
}

func (s *stallBattery) Battery() (gridmesh.Flexibility, error) { s.wait(); return s.b.Battery() }

func (s *stallBattery) SetBatteryPower(w gridmesh.W) error {
	s.mu.Lock()
	s.applied = append(s.applied, w)
	s.mu.Unlock()
	s.wait()
	return s.b.SetBatteryPower(w)
}

type stallMeter struct {
	stall
	m *sim.Meter
}

func (s *stallMeter) Meter() (gridmesh.MeterReading, error) { s.wait(); return s.m.Meter() }

// TestDeviceStopsAnswering runs one home with every device and makes its
// battery, then its meter, stop answering. The loop keeps ticking on
// time throughout; the battery's breaker opens and, when the battery
// answers again, the setpoint it last had is re-applied before anything
// else; without a meter the battery is held at 0 W.
func TestDeviceStopsAnswering(t *testing.T) { inBubble(t, testDeviceStopsAnswering) }

func testDeviceStopsAnswering(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	start, t0 := devicetest.Instant(), time.Now()
	clock := func() time.Time { return start.Add(time.Since(t0)) }
	home, err := sim.NewFullHome(devicetest.HomeParams(), clock)
	if err != nil {
		t.Fatal(err)
	}
	d := home.Devices()
	battery := &stallBattery{b: d.Battery}
	meter := &stallMeter{m: d.Meter}
	t.Cleanup(battery.release)
	t.Cleanup(meter.release)

	cfg := fastConfig()
	cfg.Home, cfg.Neighborhood = "h0", "nb"
	cfg.Raft.Servers = []consensus.Server{{ID: id.String(), Voter: true}}
	n, err := node.New(cfg, node.Deps{
		Key: key, Battery: battery, Meter: meter,
		PV: d.PV, Charger: d.Charger, HeatPump: d.HeatPump, Loads: d.Loads,
		Mesh: onMemory(meshtest.NewMemNetwork()),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	kinds := []string{"battery", "meter", "pv", "charger", "heat_pump", "loads"}
	waitFor(t, "every device available and the battery commanded", 20*time.Second, func() bool {
		s := n.Status()
		for _, k := range kinds {
			if ds, ok := s.Devices[k]; !ok || !ds.Available || ds.Breaker != "closed" {
				return false
			}
		}
		return s.Devices["battery"].CommandW != nil && len(battery.commands()) > 0
	})
	s := n.Status()
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("status does not encode: %v", err)
	}
	if ds := s.Devices["charger"]; ds.Charger == nil || !ds.Charger.Connected || ds.Charger.PowerW != 11_000 || ds.CommandW != nil {
		t.Errorf("charger not on its default (charging at max): %+v", ds)
	}
	if ds := s.Devices["pv"]; ds.PV == nil || ds.PV.PowerW <= 0 || ds.PV.LimitW != ds.PV.PeakW {
		t.Errorf("PV not on its default (uncurtailed): %+v", ds)
	}

	// The battery stops answering.
	battery.hang()
	ticks := s.Counters["loop_ticks"]
	hungAt := time.Now()
	// The breaker opens on the poller's failures; the loop notices on
	// its next tick, which may come just after.
	waitFor(t, "the battery's breaker to open and the loop to notice", 10*time.Second, func() bool {
		b := n.Status().Devices["battery"]
		return b.Breaker == "open" && !b.Available && b.LoopErrors > 0
	})
	s = n.Status()
	elapsed := time.Since(hungAt)
	if got, want := s.Counters["loop_ticks"]-ticks, uint64(elapsed/cfg.LoopPeriod)*8/10; got < want {
		t.Errorf("%d ticks in %v with the battery hung, want at least %d", got, elapsed, want)
	}
	if m := s.Counters["loop_ticks_missed"]; m != 0 {
		t.Errorf("%d ticks missed", m)
	}
	if b := s.Devices["battery"]; b.LoopErrors == 0 || s.Counters["device_errors"] < b.LoopErrors || b.CommandW == nil {
		t.Errorf("battery status %+v, device_errors %d", b, s.Counters["device_errors"])
	}
	// The loop no longer commands the battery: the newest command holds.
	last := *s.Devices["battery"].CommandW
	before := len(battery.commands())
	time.Sleep(5 * cfg.LoopPeriod)
	if c := n.Status().Devices["battery"].CommandW; *c != last {
		t.Errorf("command moved from %v to %v while the battery was unavailable", last, *c)
	}

	// It answers again: the setpoint it last had goes out first.
	battery.release()
	waitFor(t, "the battery back", 15*time.Second, func() bool {
		b := n.Status().Devices["battery"]
		return b.Breaker == "closed" && b.Available
	})
	after := battery.commands()[before:]
	if len(after) == 0 || after[0] != last {
		t.Errorf("commands after the battery returned %v, want %v re-applied first", after, last)
	}
	s = n.Status()
	if m := s.Counters["loop_ticks_missed"]; m != 0 {
		t.Errorf("%d ticks missed", m)
	}

	// With the sun at noon and the car charging at 11 kW the home
	// imports: self-consumption discharges the battery.
	waitFor(t, "the battery discharging", 10*time.Second, func() bool {
		f, _ := d.Battery.Battery()
		return f.PowerW < -1_000
	})
	// The meter stops answering: the battery is held at 0 W.
	meter.hang()
	waitFor(t, "the battery held idle without a meter", 10*time.Second, func() bool {
		f, _ := d.Battery.Battery()
		m := n.Status().Devices["meter"]
		return !m.Available && f.PowerW == 0
	})
	meter.release()
	waitFor(t, "the meter back and the battery discharging", 15*time.Second, func() bool {
		f, _ := d.Battery.Battery()
		return n.Status().Devices["meter"].Available && f.PowerW < -1_000
	})
	s = n.Status()
	if m := s.Counters["loop_ticks_missed"]; m != 0 {
		t.Errorf("%d ticks missed", m)
	}
	t.Logf("counters %v", s.Counters)
}
