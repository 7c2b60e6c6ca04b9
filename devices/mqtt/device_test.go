package mqtt

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

const goodBattery = `{"power_w": 1500, "soc": 0.25, "min_w": -5000, "max_w": 4000, "capacity_wh": 10000}`

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestDevice returns a device of kind k on a test clock, marked
// connected as Run would after subscribing.
func newTestDevice(t *testing.T, c Config) (*Device, *testClock) {
	t.Helper()
	d, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{now: time.Unix(1_800_000_000, 0)}
	d.now = clk.Now
	d.mu.Lock()
	d.connected = true
	d.mu.Unlock()
	return d, clk
}

// wantUnavailable checks err is a retryable device error wrapping
// gridmesh.ErrUnavailable.
func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	var de *gridmesh.DeviceError
	if !errors.Is(err, gridmesh.ErrUnavailable) || !errors.As(err, &de) || !de.Retryable {
		t.Fatalf("error %v: want a retryable *gridmesh.DeviceError wrapping ErrUnavailable", err)
	}
}

// wantPermanent checks err is a permanent device error wrapping target.
func wantPermanent(t *testing.T, err, target error) {
	t.Helper()
	var de *gridmesh.DeviceError
	if !errors.Is(err, target) || !errors.As(err, &de) || de.Retryable {
		t.Fatalf("error %v: want a permanent *gridmesh.DeviceError wrapping %v", err, target)
	}
}

func TestReadingGoesStaleAndComesBack(t *testing.T) {
	c := validConfig(KindBattery)
	c.StaleAfter = 10 * time.Second
	d, clk := newTestDevice(t, c)
	b, _ := d.AsBattery()

	_, err := b.Battery()
	wantUnavailable(t, err) // nothing received yet

	d.receive(d.cfg.StateTopic, []byte(goodBattery))
	if f, err := b.Battery(); err != nil || f.PowerW != 1500 {
		t.Fatalf("fresh reading: %+v, %v", f, err)
	}
	clk.Advance(10 * time.Second)
	if _, err := b.Battery(); err != nil {
		t.Fatalf("reading exactly StaleAfter old: %v", err)
	}
	clk.Advance(time.Millisecond)
	f, err := b.Battery()
	wantUnavailable(t, err)
	if f != (gridmesh.Flexibility{}) {
		t.Fatalf("stale reading returned figures: %+v", f)
	}
	d.receive(d.cfg.StateTopic, []byte(goodBattery))
	if _, err := b.Battery(); err != nil {
		t.Fatalf("after a new state: %v", err)
	}

	d.mu.Lock()
	d.connected = false
	d.mu.Unlock()
	_, err = b.Battery()
	wantUnavailable(t, err)
}

func TestBadPayloadChangesNothing(t *testing.T) {
	d, _ := newTestDevice(t, validConfig(KindBattery))
	b, _ := d.AsBattery()
	d.receive(d.cfg.StateTopic, []byte(goodBattery))
	before, _ := b.Battery()
	for _, p := range []string{`{"power_w": "x"}`, `garbage`, `{"power_w": 2e6, "soc": 0.5, "min_w": 0, "max_w": 0, "capacity_wh": 1}`} {
		d.receive(d.cfg.StateTopic, []byte(p))
	}
	after, err := b.Battery()
	if err != nil || after != before {
		t.Fatalf("after bad payloads: %+v, %v; want %+v", after, err, before)
	}
	if s := d.Stats(); s.Messages != 4 || s.DecodeErrors != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStateReappearingAsksForResend(t *testing.T) {
	c := validConfig(KindBattery)
	d, clk := newTestDevice(t, c)
	take := func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		r := d.resend
		d.resend = false
		return r
	}
	d.receive(d.cfg.StateTopic, []byte(goodBattery))
	if !take() {
		t.Fatal("first state did not ask for a re-send")
	}
	d.receive(d.cfg.StateTopic, []byte(goodBattery))
	if take() {
		t.Fatal("a steady state asked for a re-send")
	}
	clk.Advance(c.StaleAfter + time.Second)
	d.receive(d.cfg.StateTopic, []byte(goodBattery))
	if !take() {
		t.Fatal("state back after a stale gap did not ask for a re-send")
	}
}

func TestSetpoints(t *testing.T) {
	payload := func(d *Device) string {
		d.mu.Lock()
		defer d.mu.Unlock()
		return string(d.setpoint)
	}
	t.Run("not finite is refused and not kept", func(t *testing.T) {
		d, _ := newTestDevice(t, validConfig(KindBattery))
		b, _ := d.AsBattery()
		for _, w := range []gridmesh.W{gridmesh.W(math.NaN()), gridmesh.W(math.Inf(1)), gridmesh.W(math.Inf(-1))} {
			wantPermanent(t, b.SetBatteryPower(w), ErrBadSetpoint)
		}
		if p := payload(d); p != "" {
			t.Fatalf("kept %q", p)
		}
		if len(d.wake) != 0 {
			t.Fatal("woke the publisher")
		}
	})
	t.Run("rendered and clamped", func(t *testing.T) {
		cases := []struct {
			kind Kind
			set  func(d *Device) error
			want string
		}{
			{KindBattery, func(d *Device) error { b, _ := d.AsBattery(); return b.SetBatteryPower(1234.5) }, `{"power_w": 1235}`},
			{KindBattery, func(d *Device) error { b, _ := d.AsBattery(); return b.SetBatteryPower(-865.1999999999999) }, `{"power_w": -865}`},
			{KindBattery, func(d *Device) error { b, _ := d.AsBattery(); return b.SetBatteryPower(-5e9) }, `{"power_w": -1e+06}`},
			{KindPV, func(d *Device) error { p, _ := d.AsPV(); return p.SetPVLimit(-5) }, `{"limit_w": 0}`},
			{KindPV, func(d *Device) error { p, _ := d.AsPV(); return p.SetPVLimit(math.MaxFloat64) }, `{"limit_w": 1e+06}`},
			{KindCharger, func(d *Device) error { c, _ := d.AsCharger(); return c.SetChargePower(7400) }, `{"power_w": 7400}`},
			{KindHeatPump, func(d *Device) error { h, _ := d.AsHeatPump(); return h.SetHeatPumpPower(-1) }, `{"power_w": 0}`},
			{KindLoads, func(d *Device) error { l, _ := d.AsLoads(); return l.ShedNonCritical(true) }, `{"shed": true}`},
			{KindLoads, func(d *Device) error { l, _ := d.AsLoads(); return l.ShedNonCritical(false) }, `{"shed": false}`},
		}
		for _, tc := range cases {
			d, _ := newTestDevice(t, validConfig(tc.kind))
			if err := tc.set(d); err != nil {
				t.Errorf("%s: %v", tc.kind, err)
			}
			if got := payload(d); got != tc.want {
				t.Errorf("%s: payload %q, want %q", tc.kind, got, tc.want)
			}
		}
	})
	t.Run("rounded to the device's resolution", func(t *testing.T) {
		for _, tc := range []struct {
			step float64
			w    gridmesh.W
			want string
		}{
			{0.1, -865.1999999999999, `{"power_w": -865.2}`},
			{0.1, 0.30000000000000004, `{"power_w": 0.3}`},
			{0.25, 1000.13, `{"power_w": 1000.25}`},
			{10, 1234.5, `{"power_w": 1230}`},
			{100, -49.9, `{"power_w": 0}`},
		} {
			c := validConfig(KindBattery)
			c.ResolutionW = tc.step
			d, _ := newTestDevice(t, c)
			b, _ := d.AsBattery()
			if err := b.SetBatteryPower(tc.w); err != nil {
				t.Fatal(err)
			}
			if got := payload(d); got != tc.want {
				t.Errorf("%v at a %v W step: payload %q, want %q", tc.w, tc.step, got, tc.want)
			}
		}
	})
	t.Run("custom template", func(t *testing.T) {
		c := validConfig(KindBattery)
		c.SetTemplate = `{{printf "%.0f" .PowerW}}`
		d, _ := newTestDevice(t, c)
		b, _ := d.AsBattery()
		if err := b.SetBatteryPower(-2500.4); err != nil {
			t.Fatal(err)
		}
		if got := payload(d); got != "-2500" {
			t.Fatalf("payload %q", got)
		}
	})
	t.Run("kept while disconnected", func(t *testing.T) {
		d, err := New(validConfig(KindBattery), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := d.AsBattery()
		if err := b.SetBatteryPower(100); err != nil {
			t.Fatalf("set while disconnected: %v (accepted, sent once connected)", err)
		}
		if got := payload(d); got != `{"power_w": 100}` {
			t.Fatalf("payload %q", got)
		}
	})
	t.Run("loads without set topic", func(t *testing.T) {
		c := validConfig(KindLoads)
		c.SetTopic = ""
		d, _ := newTestDevice(t, c)
		l, _ := d.AsLoads()
		wantPermanent(t, l.ShedNonCritical(true), ErrNoSetTopic)
	})
}

func TestAdaptersMatchKind(t *testing.T) {
	for _, k := range Kinds() {
		d, err := New(validConfig(k), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[Kind]bool{}
		_, got[KindBattery] = d.AsBattery()
		_, got[KindMeter] = d.AsMeter()
		_, got[KindPV] = d.AsPV()
		_, got[KindCharger] = d.AsCharger()
		_, got[KindHeatPump] = d.AsHeatPump()
		_, got[KindLoads] = d.AsLoads()
		for kk, ok := range got {
			if ok != (kk == k) {
				t.Errorf("%s device: As%s reports %v", k, kk, ok)
			}
		}
		if d.Kind() != k {
			t.Errorf("Kind() = %s, want %s", d.Kind(), k)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	c := validConfig(KindBattery)
	c.Broker = "mqtt://nowhere"
	if _, err := New(c, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New: %v", err)
	}
}

func TestNewGivesARandomClientID(t *testing.T) {
	a, _ := New(validConfig(KindBattery), nil)
	b, _ := New(validConfig(KindBattery), nil)
	if a.cfg.ClientID == b.cfg.ClientID || a.cfg.ClientID == "" {
		t.Fatalf("client IDs %q and %q", a.cfg.ClientID, b.cfg.ClientID)
	}
}
