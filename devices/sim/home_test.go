package sim

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The capabilities package control defines, restated here because devices
// and control never import each other.
var _ interface {
	Battery() (gridmesh.Flexibility, error)
	SetBatteryPower(w gridmesh.W) error
	Meter() (gridmesh.MeterReading, error)
} = (*Home)(nil)

// fakeClock is a clock the test moves by hand; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// midnight is when test homes start: no sun, so PV is 0.
var midnight = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func newTestHome(t *testing.T, soc float64) (*Home, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: midnight}
	h, err := NewHome(HomeParams{Battery: testBattery, InitialSoC: soc, PV: testPV, Load: testLoad}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h, clock
}

func TestHomeIntegratesLazily(t *testing.T) {
	h, clock := newTestHome(t, 0.5)
	if err := h.SetBatteryPower(1_000); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	s := h.Snapshot()
	want := 5_000 + 1_000*math.Sqrt(testBattery.RoundTripEfficiency)
	if !near(float64(s.StoredWh), want, 1e-6) || s.BatteryW != 1_000 {
		t.Fatalf("after 1 h at 1 kW: %v Wh at %v, want %v Wh at 1000W", float64(s.StoredWh), s.BatteryW, want)
	}
	if !near(s.SoC, want/10_000, 1e-12) || !s.At.Equal(midnight.Add(time.Hour)) {
		t.Fatalf("snapshot %+v", s)
	}
	// Many small reads integrate to the same as one long one.
	for range 3600 {
		clock.Add(time.Second)
		if _, err := h.Battery(); err != nil {
			t.Fatal(err)
		}
	}
	if s := h.Snapshot(); !near(float64(s.StoredWh), want+900, 1e-6) {
		t.Fatalf("after 2 h at 1 kW in steps: %v Wh, want %v", float64(s.StoredWh), want+900)
	}
}

func TestHomeCommandPiecewiseConstant(t *testing.T) {
	h, clock := newTestHome(t, 0.5)
	_ = h.SetBatteryPower(2_000)
	clock.Add(30 * time.Minute)
	_ = h.SetBatteryPower(-810) // the first 30 min stay at 2 kW
	clock.Add(time.Hour)
	got := float64(h.Snapshot().StoredWh)
	want := 5_000 + 1_000*0.9 - 810/0.9
	if !near(got, want, 1e-6) {
		t.Fatalf("stored %v Wh, want %v", got, want)
	}
}

func TestHomeClampsAndFills(t *testing.T) {
	h, clock := newTestHome(t, 0.9)
	if err := h.SetBatteryPower(50_000); err != nil {
		t.Fatal(err)
	}
	f, _ := h.Battery()
	if f.PowerW != testBattery.MaxChargeW {
		t.Fatalf("power %v, want clamped to %v", f.PowerW, testBattery.MaxChargeW)
	}
	clock.Add(10 * time.Hour)
	f, _ = h.Battery()
	if f.SoC != 1 || f.PowerW != 0 || f.MaxW != 0 || f.MinW != -testBattery.MaxDischargeW {
		t.Fatalf("full battery reports %+v", f)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHomeRefusesNonFinite(t *testing.T) {
	h, clock := newTestHome(t, 0.5)
	_ = h.SetBatteryPower(1_000)
	for _, w := range []gridmesh.W{gridmesh.W(math.NaN()), gridmesh.W(math.Inf(1)), gridmesh.W(math.Inf(-1))} {
		if err := h.SetBatteryPower(w); err == nil {
			t.Errorf("SetBatteryPower(%v) accepted", w)
		}
	}
	clock.Add(time.Hour)
	if f, _ := h.Battery(); f.PowerW != 1_000 {
		t.Fatalf("power %v after refused commands, want the earlier 1000W", f.PowerW)
	}
}

func TestHomeMeterSign(t *testing.T) {
	h, clock := newTestHome(t, 0.5)
	check := func(what string, want func(s HomeSnapshot) bool) {
		t.Helper()
		s := h.Snapshot()
		m, err := h.Meter()
		net := m.NetW
		if err != nil {
			t.Fatal(err)
		}
		if s.NetW != s.LoadW-s.PVW+s.BatteryW || net != s.NetW || !want(s) {
			t.Errorf("%s: %+v, meter %v", what, s, net)
		}
	}
	check("night, idle: import the load", func(s HomeSnapshot) bool { return s.PVW == 0 && s.NetW == s.LoadW && s.NetW > 0 })
	_ = h.SetBatteryPower(3_000)
	check("night, charging: import more", func(s HomeSnapshot) bool { return s.NetW == s.LoadW+3_000 })
	_ = h.SetBatteryPower(-h.Snapshot().LoadW)
	check("night, discharging the load: import nothing", func(s HomeSnapshot) bool { return s.NetW == 0 })
	clock.Add(13 * time.Hour) // solar noon
	_ = h.SetBatteryPower(0)
	check("noon, idle: export PV surplus", func(s HomeSnapshot) bool { return s.PVW == testPV.PeakW && s.NetW < 0 })
}

func TestHomeClockBackwards(t *testing.T) {
	h, clock := newTestHome(t, 0.5)
	_ = h.SetBatteryPower(1_000)
	clock.Add(time.Hour)
	before := h.Snapshot()
	clock.Add(-30 * time.Minute)
	if got := h.Snapshot(); got != before {
		t.Fatalf("clock went back: %+v, want unchanged %+v", got, before)
	}
	clock.Add(time.Hour) // 30 min past the last reading
	if got := h.Snapshot(); !near(float64(got.StoredWh-before.StoredWh), 450, 1e-6) {
		t.Fatalf("stored %v Wh more, want 450", float64(got.StoredWh-before.StoredWh))
	}
}

func TestHomeConcurrent(t *testing.T) {
	h, clock := newTestHome(t, 0.5)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 500 {
				clock.Add(time.Second)
				_ = h.SetBatteryPower(gridmesh.W((i+j)%7-3) * 1_000)
				if f, _ := h.Battery(); f.Validate() != nil {
					t.Error(f.Validate())
				}
				_, _ = h.Meter()
			}
		})
	}
	wg.Wait()
}

func TestNewHomeValidates(t *testing.T) {
	if _, err := NewHome(HomeParams{Battery: testBattery, InitialSoC: 1.5, PV: testPV, Load: testLoad}, time.Now); err == nil {
		t.Error("SoC 1.5 accepted")
	}
	if _, err := NewHome(HomeParams{InitialSoC: 0.5, PV: testPV, Load: testLoad}, time.Now); err == nil {
		t.Error("zero battery accepted")
	}
	if _, err := NewHome(HomeParams{Battery: testBattery, InitialSoC: 0.5, PV: testPV, Load: testLoad}, nil); err == nil {
		t.Error("nil clock accepted")
	}
}

func TestRandomHome(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range 1_000 {
		p := RandomHome(rng)
		if err := p.Validate(); err != nil {
			t.Fatalf("seed %d: %+v: %v", seed, p, err)
		}
		b, pv, l := p.Battery, p.PV, p.Load
		if b.CapacityWh < 10_000 || b.CapacityWh > 13_500 || b.MaxChargeW != 5_000 || b.MaxDischargeW != 5_000 ||
			pv.PeakW < 3_000 || pv.PeakW > 6_000 || p.InitialSoC < 0.4 || p.InitialSoC > 0.8 ||
			l.BaseW+l.EveningPeakW < 600 || l.BaseW+l.EveningPeakW > 2_000 {
			t.Fatalf("seed %d: out of range: %+v", seed, p)
		}
	}
	a := RandomHome(rand.New(rand.NewPCG(7, 7)))
	if b := RandomHome(rand.New(rand.NewPCG(7, 7))); a != b {
		t.Fatalf("same rng state, different homes: %+v, %+v", a, b)
	}
}
