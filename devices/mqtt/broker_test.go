package mqtt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/mosquittotest"
	"github.com/gridmesh/gridmesh/devices/mqtt/mqttsim"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// The driver's adapters have the method sets of package control's
// interfaces, which mqttsim's repeat (archtest keeps control out of
// devices, tests included); so do the devices/sim devices.
var (
	_ mqttsim.Battery  = (*mqtt.Battery)(nil)
	_ mqttsim.Meter    = (*mqtt.Meter)(nil)
	_ mqttsim.PV       = (*mqtt.PV)(nil)
	_ mqttsim.Charger  = (*mqtt.Charger)(nil)
	_ mqttsim.HeatPump = (*mqtt.HeatPump)(nil)
	_ mqttsim.Loads    = (*mqtt.Loads)(nil)
	_ mqttsim.Battery  = (*sim.Home)(nil)
	_ mqttsim.Meter    = (*sim.Home)(nil)
)

// Test timing: conditions are awaited up to waitFor; the simulator
// publishes every simPeriod; clients retry a dropped broker quickly.
const (
	waitFor      = 15 * time.Second
	simPeriod    = 25 * time.Millisecond
	reconnectMin = 20 * time.Millisecond
	reconnectMax = 200 * time.Millisecond
)

// eventually polls cond until it returns nil, failing the test with its
// last error after waitFor.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, waitFor, err)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a tuned wait
	}
}

// configs returns matching driver and simulator configs for a device
// named name of kind k on the broker at addr.
func configs(addr string, k mqtt.Kind, name string) (mqtt.Config, mqttsim.Config) {
	dc := mqtt.DefaultConfig(k)
	dc.Broker, dc.Device = addr, name
	dc.StateTopic = "gridmesh-test/" + name + "/state"
	if k != mqtt.KindMeter {
		dc.SetTopic = "gridmesh-test/" + name + "/set"
	}
	dc.StaleAfter = 2 * time.Second
	dc.ReconnectMin, dc.ReconnectMax = reconnectMin, reconnectMax
	sc := mqttsim.DefaultConfig(k)
	sc.Device, sc.Period = dc, simPeriod
	return dc, sc
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tWriter sends log lines to t.Log (shown for failing tests).
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// runner is something with Run(ctx).
type runner interface{ Run(context.Context) error }

// start runs r until the returned stop is called (or the test ends);
// stop waits for Run to return and checks it returned ctx's error.
func start(t *testing.T, r runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run returned %v, want context.Canceled", err)
				}
			case <-time.After(waitFor):
				t.Errorf("Run did not return within %v of its context ending", waitFor)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newDevice(t *testing.T, c mqtt.Config) *mqtt.Device {
	t.Helper()
	d, err := mqtt.New(c, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// newHome is a sim.Home on a clock the test moves.
func newHome(t *testing.T) (*sim.Home, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)}
	h, err := sim.NewHome(sim.HomeParams{
		Battery:    sim.BatteryParams{CapacityWh: 10_000, MaxChargeW: 5000, MaxDischargeW: 5000, RoundTripEfficiency: 0.9},
		InitialSoC: 0.5,
		PV:         sim.PVParams{PeakW: 6000, SunriseHour: 6, SunsetHour: 20},
		Load:       sim.LoadParams{BaseW: 300, MorningPeakW: 1000, EveningPeakW: 2000, Seed: 7},
	}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h, clk
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// equal reports got != want as an error.
func equal[T comparable](got T, err error, want T) error {
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("got %+v, want %+v", got, want)
	}
	return nil
}

// TestRoundTrip runs each kind's simulator and driver against one broker:
// the driver reads what the simulated device reports, and its setpoints
// reach the device and change what it does.
func TestRoundTrip(t *testing.T) {
	addr := mosquittotest.New(t).Addr()

	t.Run("battery", func(t *testing.T) {
		t.Parallel()
		home, clk := newHome(t)
		dc, sc := configs(addr, mqtt.KindBattery, "battery")
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return mqttsim.NewBattery(c, home, testLogger(t)) })
		b, _ := d.AsBattery()
		want, _ := home.Battery()
		eventually(t, "battery read", func() error { f, err := b.Battery(); return equal(f, err, want) })

		// Charge at 2 kW; the home's physics answer.
		if err := b.SetBatteryPower(2000); err != nil {
			t.Fatal(err)
		}
		eventually(t, "charging", func() error { f, err := b.Battery(); return equal(f.PowerW, err, 2000) })
		clk.Advance(30 * time.Minute)
		after, _ := home.Battery()
		if after.SoC <= want.SoC {
			t.Fatalf("SoC %v after charging from %v", after.SoC, want.SoC)
		}
		eventually(t, "charged", func() error { f, err := b.Battery(); return equal(f, err, after) })

		// A command beyond the battery's limits is clamped by the battery.
		if err := b.SetBatteryPower(-1e9); err != nil {
			t.Fatal(err)
		}
		eventually(t, "discharging at the limit", func() error { f, err := b.Battery(); return equal(f.PowerW, err, -5000) })
	})

	t.Run("meter", func(t *testing.T) {
		t.Parallel()
		home, _ := newHome(t)
		dc, sc := configs(addr, mqtt.KindMeter, "meter")
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return mqttsim.NewMeter(c, home, testLogger(t)) })
		m, _ := d.AsMeter()
		want, _ := home.Meter()
		eventually(t, "meter read", func() error { r, err := m.Meter(); return equal(r, err, want) })
	})

	t.Run("meter percent and renamed", func(t *testing.T) {
		t.Parallel()
		home, _ := newHome(t)
		dc, sc := configs(addr, mqtt.KindBattery, "battery-pct")
		dc.SoCPercent = true
		dc.Fields["soc"] = "SOC"
		dc.Fields["power"] = "battery/power"
		sc.Device = dc
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return mqttsim.NewBattery(c, home, testLogger(t)) })
		b, _ := d.AsBattery()
		want, _ := home.Battery()
		eventually(t, "battery read", func() error { f, err := b.Battery(); return equal(f, err, want) })
	})

	t.Run("pv", func(t *testing.T) {
		t.Parallel()
		pv := newFakePV()
		dc, sc := configs(addr, mqtt.KindPV, "pv")
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return mqttsim.NewPV(c, pv, testLogger(t)) })
		p, _ := d.AsPV()
		want, _ := pv.PV()
		eventually(t, "pv read", func() error { r, err := p.PV(); return equal(r, err, want) })
		if err := p.SetPVLimit(1000); err != nil {
			t.Fatal(err)
		}
		want = gridmesh.PVState{PowerW: 1000, AvailableW: 3500, LimitW: 1000, PeakW: 5000}
		eventually(t, "curtailed", func() error { r, err := p.PV(); return equal(r, err, want) })
	})

	t.Run("charger", func(t *testing.T) {
		t.Parallel()
		ch := newFakeCharger()
		dc, sc := configs(addr, mqtt.KindCharger, "charger")
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return mqttsim.NewCharger(c, ch, testLogger(t)) })
		c, _ := d.AsCharger()
		want, _ := ch.Charger()
		eventually(t, "charger read", func() error { r, err := c.Charger(); return equal(r, err, want) })
		if err := c.SetChargePower(500); err != nil { // below MinW: charges at MinW
			t.Fatal(err)
		}
		eventually(t, "charging at min", func() error { r, err := c.Charger(); return equal(r.PowerW, err, 1400) })
	})

	t.Run("heatpump", func(t *testing.T) {
		t.Parallel()
		hp := newFakeHeatPump()
		dc, sc := configs(addr, mqtt.KindHeatPump, "heatpump")
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return mqttsim.NewHeatPump(c, hp, testLogger(t)) })
		h, _ := d.AsHeatPump()
		want, _ := hp.HeatPump()
		eventually(t, "heat pump read", func() error { r, err := h.HeatPump(); return equal(r, err, want) })
		if err := h.SetHeatPumpPower(1750.5); err != nil {
			t.Fatal(err)
		}
		// Rounded to the default 1 W resolution.
		eventually(t, "heat pump steered", func() error { r, err := h.HeatPump(); return equal(r.PowerW, err, 1751) })
	})

	t.Run("loads", func(t *testing.T) {
		t.Parallel()
		ld := newFakeLoads()
		dc, sc := configs(addr, mqtt.KindLoads, "loads")
		d := connect(t, dc, sc, func(c mqttsim.Config) (*mqttsim.Sim, error) { return mqttsim.NewLoads(c, ld, testLogger(t)) })
		l, _ := d.AsLoads()
		want, _ := ld.Loads()
		eventually(t, "loads read", func() error { r, err := l.Loads(); return equal(r, err, want) })
		if err := l.ShedNonCritical(true); err != nil {
			t.Fatal(err)
		}
		want.Shed = true
		eventually(t, "shed", func() error { r, err := l.Loads(); return equal(r, err, want) })
	})
}

// TestStaleWhenDeviceSilent stops the simulator: the driver's reading
// turns unavailable after StaleAfter, and is back once the device
// publishes again.
func TestStaleWhenDeviceSilent(t *testing.T) {
	addr := mosquittotest.New(t).Addr()
	home, _ := newHome(t)
	dc, sc := configs(addr, mqtt.KindBattery, "stale")
	dc.StaleAfter = 300 * time.Millisecond
	sc.Device = dc
	d := newDevice(t, dc)
	start(t, d)
	b, _ := d.AsBattery()
	newSim := func() *mqttsim.Sim {
		s, err := mqttsim.NewBattery(sc, home, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	stopSim := start(t, newSim())
	eventually(t, "fresh", func() error { _, err := b.Battery(); return err })
	stopSim()
	eventually(t, "stale", func() error {
		_, err := b.Battery()
		var de *gridmesh.DeviceError
		if errors.Is(err, gridmesh.ErrUnavailable) && errors.As(err, &de) && de.Retryable {
			return nil
		}
		return fmt.Errorf("reading error %v, want a retryable ErrUnavailable", err)
	})
	start(t, newSim())
	eventually(t, "fresh again", func() error { _, err := b.Battery(); return err })
}

// TestBrokerRestart drops the broker under a driver with a setpoint: the
// driver reconnects, subscribes again and sends its last setpoint again,
// which restores a device that lost it meanwhile.
func TestBrokerRestart(t *testing.T) {
	broker := mosquittotest.New(t)
	home, _ := newHome(t)
	dc, sc := configs(broker.Addr(), mqtt.KindBattery, "restart")
	s, err := mqttsim.NewBattery(sc, home, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, dc)
	start(t, s)
	start(t, d)
	b, _ := d.AsBattery()
	eventually(t, "connected", func() error { _, err := b.Battery(); return err })
	if err := b.SetBatteryPower(1500); err != nil {
		t.Fatal(err)
	}
	eventually(t, "charging", func() error { f, err := b.Battery(); return equal(f.PowerW, err, 1500) })
	applied, published := s.Stats().SetpointsApplied, d.Stats().SetpointsPublished

	broker.Stop()
	eventually(t, "unavailable while the broker is down", func() error {
		if _, err := b.Battery(); !errors.Is(err, gridmesh.ErrUnavailable) {
			return fmt.Errorf("reading error %v", err)
		}
		return nil
	})
	atStop := d.Stats().Messages
	// The device forgets its command meanwhile (a reboot, a watchdog).
	if err := home.SetBatteryPower(0); err != nil {
		t.Fatal(err)
	}
	broker.Restart()

	// The device itself, not the driver's reading (which may still be the
	// state from before the drop, younger than StaleAfter), must show it.
	eventually(t, "setpoint restored", func() error { f, err := home.Battery(); return equal(f.PowerW, err, 1500) })
	eventually(t, "fresh state", func() error {
		if d.Stats().Messages <= atStop {
			return errors.New("no state since the restart")
		}
		f, err := b.Battery()
		return equal(f.PowerW, err, 1500)
	})
	st := d.Stats()
	if st.Reconnects < 1 || st.SetpointsPublished <= published {
		t.Fatalf("driver stats %+v after a restart (published %d before)", st, published)
	}
	if got := s.Stats().SetpointsApplied; got <= applied {
		t.Fatalf("simulator applied %d setpoints, %d before the restart", got, applied)
	}
}

// TestMalformedPayloads publishes garbage on the state topic: each
// payload is counted and none changes the reading.
func TestMalformedPayloads(t *testing.T) {
	addr := mosquittotest.New(t).Addr()
	dc, _ := configs(addr, mqtt.KindBattery, "malformed")
	dc.StaleAfter = time.Hour // the reading must outlive the garbage
	d := newDevice(t, dc)
	start(t, d)
	b, _ := d.AsBattery()

	// Publish until the driver has subscribed and seen it.
	const good = `{"power_w": -750, "soc": 0.4, "min_w": -3000, "max_w": 3000, "capacity_wh": 5000, "temp_c": 25}`
	want := gridmesh.Flexibility{PowerW: -750, SoC: 0.4, MinW: -3000, MaxW: 3000, CapacityWh: 5000, ChargeWh: 3000, DischargeWh: 2000}
	eventually(t, "first state", func() error {
		if _, err := b.Battery(); err != nil {
			mosquittotest.Publish(t, addr, dc.StateTopic, []byte(good))
		}
		f, err := b.Battery()
		return equal(f, err, want)
	})
	before := d.Stats()

	garbage := []string{
		``, `not json`, `null`, `[]`, `{"power_w": NaN}`, `{"power_w": 1e999, "soc": 0.4, "min_w": -1, "max_w": 1, "capacity_wh": 1}`,
		`{"power_w": "-750 W", "soc": 0.4, "min_w": -3000, "max_w": 3000, "capacity_wh": 5000}`,
		`{"power_w": -750, "min_w": -3000, "max_w": 3000, "capacity_wh": 5000}`,
		`{"power_w": -750, "soc": 1.4, "min_w": -3000, "max_w": 3000, "capacity_wh": 5000}`,
		`{"power_w": 2000000, "soc": 0.4, "min_w": -3000, "max_w": 3000, "capacity_wh": 5000}`,
		"\x00\xff\xfe",
	}
	for _, g := range garbage {
		mosquittotest.Publish(t, addr, dc.StateTopic, []byte(g))
	}
	eventually(t, "garbage counted", func() error {
		st := d.Stats()
		// Messages may count late copies of the good state too.
		if st.DecodeErrors-before.DecodeErrors != uint64(len(garbage)) || st.Messages-before.Messages < uint64(len(garbage)) {
			return fmt.Errorf("stats %+v, before %+v, %d payloads", st, before, len(garbage))
		}
		return nil
	})
	f, err := b.Battery()
	if err := equal(f, err, want); err != nil {
		t.Fatalf("reading after garbage: %v", err)
	}
}

// TestRunStopsWithoutBroker: with no broker to reach, readings say
// unavailable, setpoints are accepted for later, and Run still returns
// promptly when its context ends.
func TestRunStopsWithoutBroker(t *testing.T) {
	broker := mosquittotest.New(t)
	addr := broker.Addr()
	broker.Stop()
	dc, _ := configs(addr, mqtt.KindPV, "nobroker")
	d := newDevice(t, dc)
	stop := start(t, d)
	p, _ := d.AsPV()
	if _, err := p.PV(); !errors.Is(err, gridmesh.ErrUnavailable) {
		t.Fatalf("reading without a broker: %v", err)
	}
	if err := p.SetPVLimit(100); err != nil {
		t.Fatalf("set without a broker: %v (accepted, sent once connected)", err)
	}
	stop()
	if err := d.Run(context.Background()); err == nil {
		t.Fatal("a second Run was accepted")
	}
}

// connect starts a simulator (made by newSim from sc) and a driver (from
// dc) of one device on the broker, both stopped when the test ends, and
// returns the driver.
func connect(t *testing.T, dc mqtt.Config, sc mqttsim.Config, newSim func(mqttsim.Config) (*mqttsim.Sim, error)) *mqtt.Device {
	t.Helper()
	s, err := newSim(sc)
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, dc)
	start(t, s)
	start(t, d)
	return d
}
