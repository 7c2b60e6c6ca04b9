package sim

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The capabilities package control defines, restated here because devices
// and control never import each other.
var (
	_ interface {
		Battery() (gridmesh.Flexibility, error)
		SetBatteryPower(w gridmesh.W) error
	} = (*Battery)(nil)
	_ interface {
		PV() (gridmesh.PVState, error)
		SetPVLimit(w gridmesh.W) error
	} = (*PV)(nil)
	_ interface {
		Charger() (gridmesh.ChargerState, error)
		SetChargePower(w gridmesh.W) error
	} = (*Charger)(nil)
	_ interface {
		HeatPump() (gridmesh.HeatPumpState, error)
		SetHeatPumpPower(w gridmesh.W) error
	} = (*HeatPump)(nil)
	_ interface {
		Loads() (gridmesh.LoadState, error)
		ShedNonCritical(shed bool) error
	} = (*Loads)(nil)
	_ interface {
		Meter() (gridmesh.MeterReading, error)
	} = (*Meter)(nil)
)

// evening is when full test homes start: a car plugged in (testCharger
// arrives 18-19 h), no sun, a cold evening.
var evening = time.Date(2026, 1, 5, 20, 0, 0, 0, time.UTC)

func fullParams() FullHomeParams {
	b, pv, c, hp, l := testBattery, testPV, testCharger, testHeatPump, testLoad
	b.ReserveSoC = 0.2
	l.SheddableShare = 0.4
	return FullHomeParams{Battery: &b, InitialSoC: 0.5, PV: &pv, Charger: &c, HeatPump: &hp, InitialIndoorC: 21, Load: &l}
}

func newFullHome(t *testing.T, p FullHomeParams, at time.Time) (*Home, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: at}
	h, err := NewFullHome(p, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h, clock
}

func TestFullHomeMeterSumsEveryDevice(t *testing.T) {
	h, clock := newFullHome(t, fullParams(), evening)
	d := h.Devices()
	if err := d.Battery.SetBatteryPower(-2_000); err != nil {
		t.Fatal(err)
	}
	for range 6 * 60 {
		clock.Add(10 * time.Second)
		s := h.Snapshot()
		m, _ := d.Meter.Meter()
		b, _ := d.Battery.Battery()
		pv, _ := d.PV.PV()
		c, _ := d.Charger.Charger()
		hp, _ := d.HeatPump.HeatPump()
		l, _ := d.Loads.Loads()
		sum := l.CriticalW + l.NonCriticalW - pv.PowerW + b.PowerW + c.PowerW + hp.PowerW
		if m.NetW != s.NetW || !near(float64(m.NetW), float64(sum), 1e-9) {
			t.Fatalf("%v: meter %v, snapshot %v, devices sum %v", s.At, m.NetW, s.NetW, sum)
		}
		if !s.EVConnected || s.ChargerW != 11_000 || c.PowerW != 11_000 {
			t.Fatalf("%v: car not charging at max by default: %+v", s.At, c)
		}
		if m.VoltageV != 230 || m.FrequencyHz != 50 || !m.GridOK {
			t.Fatalf("default grid: %+v", m)
		}
	}
}

func TestFullHomeSubsetOfDevices(t *testing.T) {
	pv := testPV
	h, _ := newFullHome(t, FullHomeParams{PV: &pv}, time.Date(2026, 6, 21, 13, 0, 0, 0, time.UTC))
	d := h.Devices()
	if d.Battery != nil || d.Charger != nil || d.HeatPump != nil || d.Loads != nil || d.PV == nil || d.Meter == nil {
		t.Fatalf("devices %+v", d)
	}
	if _, err := h.Battery(); !errors.Is(err, ErrNoDevice) {
		t.Errorf("Battery() on a home without one: %v", err)
	}
	if err := h.SetBatteryPower(1); !errors.Is(err, ErrNoDevice) {
		t.Errorf("SetBatteryPower on a home without a battery: %v", err)
	}
	if m, _ := h.Meter(); m.NetW != -4_000 {
		t.Errorf("PV-only home at noon imports %v, want -4000W", m.NetW)
	}
	if err := d.PV.SetPVLimit(1_000); err != nil {
		t.Fatal(err)
	}
	if m, _ := h.Meter(); m.NetW != -1_000 {
		t.Errorf("curtailed to 1 kW, imports %v", m.NetW)
	}
}

// TestHomeIsFullHome: the original constructor builds the same home as
// NewFullHome(p.Full()).
func TestHomeIsFullHome(t *testing.T) {
	p := HomeParams{Battery: testBattery, InitialSoC: 0.5, PV: testPV, Load: testLoad}
	a, ca := newTestHome(t, 0.5)
	b, cb := newFullHome(t, p.Full(), midnight)
	for i := range 24 * 6 {
		w := gridmesh.W(i%9-4) * 1_000
		_ = a.SetBatteryPower(w)
		_ = b.SetBatteryPower(w)
		ca.Add(10 * time.Minute)
		cb.Add(10 * time.Minute)
		if sa, sb := a.Snapshot(), b.Snapshot(); sa != sb {
			t.Fatalf("step %d: %+v != %+v", i, sa, sb)
		}
	}
}

func TestFullHomeShedAndGrid(t *testing.T) {
	h, _ := newFullHome(t, fullParams(), evening)
	d := h.Devices()
	before := h.Snapshot()
	if err := d.Loads.ShedNonCritical(true); err != nil {
		t.Fatal(err)
	}
	after := h.Snapshot()
	l, _ := d.Loads.Loads()
	if !l.Shed || !after.Shed || l.NonCriticalW <= 0 || !near(float64(before.NetW-after.NetW), float64(l.NonCriticalW), 1e-9) {
		t.Errorf("shedding %+v: net %v -> %v", l, before.NetW, after.NetW)
	}
	island := Grid{VoltageV: 225, FrequencyHz: 49.7, Up: false}
	if err := d.Meter.SetGrid(island); err != nil {
		t.Fatal(err)
	}
	if m, _ := d.Meter.Meter(); m.VoltageV != 225 || m.FrequencyHz != 49.7 || m.GridOK {
		t.Errorf("meter after SetGrid(%+v): %+v", island, m)
	}
	for _, g := range []Grid{{VoltageV: math.NaN(), FrequencyHz: 50}, {VoltageV: 230, FrequencyHz: -1}, {VoltageV: 5_000, FrequencyHz: 50}} {
		if d.Meter.SetGrid(g) == nil {
			t.Errorf("SetGrid(%+v) accepted", g)
		}
	}
	if m, _ := d.Meter.Meter(); m.FrequencyHz != 49.7 {
		t.Errorf("a refused grid changed the meter: %+v", m)
	}
}

func TestFullHomeReserve(t *testing.T) {
	p := fullParams()
	p.InitialSoC = 0.25 // 500 Wh above the 20 % reserve
	h, clock := newFullHome(t, p, evening)
	b := h.Devices().Battery
	_ = b.SetBatteryPower(-4_000)
	clock.Add(time.Hour)
	f, _ := b.Battery()
	if !near(f.SoC, 0.2, 1e-9) || f.PowerW != 0 || f.MinW != 0 || f.DischargeWh != 0 {
		t.Fatalf("discharged an hour from 25 %%: %+v", f)
	}
	b.SetReserveUsable(true)
	f, _ = b.Battery()
	if f.PowerW != -4_000 || f.MinW != -4_000 || !near(float64(f.DischargeWh), 2_000*0.9, 1e-6) {
		t.Fatalf("reserve usable: %+v", f)
	}
	clock.Add(15 * time.Minute)
	b.SetReserveUsable(false)
	f, _ = b.Battery()
	if f.SoC >= 0.2 || f.PowerW != 0 || f.MinW != 0 {
		t.Fatalf("reserve kept back again below it: %+v", f)
	}
}

func TestFullHomeRefusesNonFinite(t *testing.T) {
	h, _ := newFullHome(t, fullParams(), evening)
	d := h.Devices()
	before := h.Snapshot()
	for _, w := range []gridmesh.W{gridmesh.W(math.NaN()), gridmesh.W(math.Inf(1)), gridmesh.W(math.Inf(-1))} {
		for name, set := range map[string]func(gridmesh.W) error{
			"battery": d.Battery.SetBatteryPower, "pv": d.PV.SetPVLimit,
			"charger": d.Charger.SetChargePower, "heat pump": d.HeatPump.SetHeatPumpPower,
		} {
			err := set(w)
			var de *gridmesh.DeviceError
			if !errors.As(err, &de) || de.Retryable || !errors.Is(err, ErrInvalidCommand) {
				t.Errorf("%s(%v): %v, want a permanent DeviceError", name, w, err)
			}
		}
	}
	if after := h.Snapshot(); after != before {
		t.Errorf("refused commands changed the home: %+v -> %+v", before, after)
	}
}

// TestFullHomeProperties drives random full homes with random commands
// to random devices over random intervals (the seed is logged) and checks
// every bound: stored energy and reserve, battery, PV, charger and heat
// pump limits, indoor temperature, and the meter's sum.
func TestFullHomeProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	randW := func(scale float64) gridmesh.W {
		switch rng.IntN(15) {
		case 0:
			return gridmesh.W(math.NaN())
		case 1:
			return gridmesh.W(math.Inf(1 - 2*rng.IntN(2)))
		}
		return gridmesh.W((rng.Float64()*2.4 - 0.2) * scale)
	}
	for range 20 {
		p := RandomFullHome(rng)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(60 * 24 * time.Hour))))
		h, clock := newFullHome(t, p, start)
		d := h.Devices()
		reserve := gridmesh.Wh(p.Battery.ReserveSoC) * p.Battery.CapacityWh
		prevWh := h.Snapshot().StoredWh
		usable := false
		for range 300 {
			var err error
			var w gridmesh.W
			switch rng.IntN(7) {
			case 0:
				w = randW(float64(p.Battery.MaxChargeW))
				err = d.Battery.SetBatteryPower(w)
			case 1:
				w = randW(float64(p.PV.PeakW))
				err = d.PV.SetPVLimit(w)
			case 2:
				w = randW(float64(p.Charger.MaxW))
				err = d.Charger.SetChargePower(w)
			case 3:
				w = randW(float64(p.HeatPump.MaxW))
				err = d.HeatPump.SetHeatPumpPower(w)
			case 4:
				err = d.Loads.ShedNonCritical(rng.IntN(2) == 0)
			case 5:
				usable = rng.IntN(3) == 0
				d.Battery.SetReserveUsable(usable)
			}
			if (err != nil) == w.Finite() {
				t.Fatalf("seed %d: command %v: %v", seed, w, err)
			}
			clock.Add(time.Duration(rng.Int64N(int64(30 * time.Minute))))
			s := h.Snapshot()
			f, _ := d.Battery.Battery()
			pv, _ := d.PV.PV()
			c, _ := d.Charger.Charger()
			hp, _ := d.HeatPump.HeatPump()
			m, _ := d.Meter.Meter()
			// Below the reserve a battery that may not use it only charges.
			if s.StoredWh < 0 || s.StoredWh > p.Battery.CapacityWh || !usable && s.StoredWh < min(prevWh, reserve)-1e-6 {
				t.Fatalf("seed %d: stored %v Wh after %v, reserve %v, capacity %v", seed, float64(s.StoredWh), float64(prevWh), float64(reserve), float64(p.Battery.CapacityWh))
			}
			prevWh = s.StoredWh
			if err := f.Validate(); err != nil || f.PowerW < -p.Battery.MaxDischargeW || f.PowerW > p.Battery.MaxChargeW {
				t.Fatalf("seed %d: battery %+v: %v", seed, f, err)
			}
			if !usable && s.StoredWh <= reserve && f.PowerW < 0 {
				t.Fatalf("seed %d: discharging at %v below the reserve", seed, f.PowerW)
			}
			if pv.PowerW < 0 || pv.PowerW > pv.AvailableW || pv.PowerW > pv.LimitW || pv.LimitW < 0 || pv.LimitW > pv.PeakW {
				t.Fatalf("seed %d: PV %+v", seed, pv)
			}
			if c.PowerW != 0 && (c.PowerW < c.MinW || c.PowerW > c.MaxW || !c.Connected || c.WantedWh <= 0) || c.WantedWh < 0 {
				t.Fatalf("seed %d: charger %+v", seed, c)
			}
			if hp.PowerW < 0 || hp.PowerW > p.HeatPump.MaxW || hp.IndoorC < p.HeatPump.FrostC-1e-6 || hp.IndoorC > hp.BandHighC+1e-6 {
				t.Fatalf("seed %d: heat pump %+v", seed, hp)
			}
			if m.NetW != s.NetW || !near(float64(s.NetW), float64(s.LoadW-s.PVW+s.BatteryW+s.ChargerW+s.HeatPumpW), 1e-9) {
				t.Fatalf("seed %d: meter %v, snapshot %+v", seed, m.NetW, s)
			}
		}
	}
}

func TestFullHomeConcurrent(t *testing.T) {
	h, clock := newFullHome(t, fullParams(), evening)
	d := h.Devices()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 300 {
				clock.Add(time.Second)
				w := gridmesh.W((i+j)%7-3) * 1_000
				_ = d.Battery.SetBatteryPower(w)
				_ = d.Charger.SetChargePower(w)
				_ = d.HeatPump.SetHeatPumpPower(w)
				_ = d.PV.SetPVLimit(w)
				_ = d.Loads.ShedNonCritical(j%2 == 0)
				_, _ = d.Meter.Meter()
				_ = h.Snapshot()
			}
		})
	}
	wg.Wait()
}

func TestFullHomeParamsValidate(t *testing.T) {
	if err := fullParams().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (FullHomeParams{}).Validate(); err != nil {
		t.Errorf("a home with only a meter: %v", err)
	}
	for i, mutate := range []func(*FullHomeParams){
		func(p *FullHomeParams) { p.InitialSoC = 2 },
		func(p *FullHomeParams) { p.InitialIndoorC = 0 },
		func(p *FullHomeParams) { p.Battery.CapacityWh = 0 },
		func(p *FullHomeParams) { p.PV.PeakW = -1 },
		func(p *FullHomeParams) { p.Charger.MinW = 0 },
		func(p *FullHomeParams) { p.HeatPump.COP = 0 },
		func(p *FullHomeParams) { p.Load.BaseW = -1 },
	} {
		p := fullParams()
		mutate(&p)
		if p.Validate() == nil {
			t.Errorf("case %d validated", i)
		}
	}
	if _, err := NewFullHome(fullParams(), nil); err == nil {
		t.Error("nil clock accepted")
	}
}

func TestRandomFullHome(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	for range 1_000 {
		if err := RandomFullHome(rng).Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	a := RandomFullHome(rand.New(rand.NewPCG(7, 7)))
	b := RandomHome(rand.New(rand.NewPCG(7, 7)))
	if *a.PV != (PVParams{PeakW: b.PV.PeakW, SunriseHour: b.PV.SunriseHour, SunsetHour: b.PV.SunsetHour, Cloudiness: a.PV.Cloudiness, Seed: a.PV.Seed}) ||
		a.Battery.CapacityWh != b.Battery.CapacityWh || a.InitialSoC != b.InitialSoC || a.Load.Seed != b.Load.Seed {
		t.Errorf("RandomFullHome's battery, PV and load are not RandomHome's")
	}
}

// TestFullHomeDeadBus: on a dead bus nothing draws or produces, the car
// gets no energy and the house cools with its heat pump told to heat;
// once the bus is live again everything runs as told.
func TestFullHomeDeadBus(t *testing.T) {
	h, clock := newFullHome(t, fullParams(), evening)
	d := h.Devices()
	if err := d.HeatPump.SetHeatPumpPower(3_000); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	before := h.Snapshot()
	if before.ChargerW == 0 || before.HeatPumpW == 0 {
		t.Fatalf("live bus: want the car charging and the heat pump on: %+v", before)
	}
	if err := d.Meter.SetGrid(Grid{}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	dead := h.Snapshot()
	if dead.LoadW != 0 || dead.PVW != 0 || dead.ChargerW != 0 || dead.HeatPumpW != 0 || dead.NetW != dead.BatteryW {
		t.Errorf("dead bus: %+v", dead)
	}
	if dead.EVWantedWh != before.EVWantedWh || dead.IndoorC >= before.IndoorC {
		t.Errorf("dead bus: car wants %v Wh (before %v), house %v °C (before %v)", float64(dead.EVWantedWh), float64(before.EVWantedWh), dead.IndoorC, before.IndoorC)
	}
	if err := d.Meter.SetGrid(DefaultGrid()); err != nil {
		t.Fatal(err)
	}
	if live := h.Snapshot(); live.ChargerW == 0 || live.HeatPumpW == 0 || live.LoadW == 0 {
		t.Errorf("live again: %+v", live)
	}
}

// TestBatteryExchange: energy moved outside any command keeps within the
// room and the floor, with the battery's losses each way.
func TestBatteryExchange(t *testing.T) {
	p := fullParams() // 50 % of its capacity, a backup reserve
	h, _ := newFullHome(t, p, evening)
	b := h.Devices().Battery
	capWh, eta := p.Battery.CapacityWh, gridmesh.Wh(math.Sqrt(p.Battery.RoundTripEfficiency))
	before := h.Snapshot().StoredWh
	if got := b.Exchange(-1_000); !near(float64(got), -1_000, 1e-9) || !near(float64(before-h.Snapshot().StoredWh), float64(1_000/eta), 1e-6) {
		t.Errorf("took %v Wh, stored %v → %v", float64(got), float64(before), float64(h.Snapshot().StoredWh))
	}
	floor := gridmesh.Wh(p.Battery.ReserveSoC) * capWh
	if got := b.Exchange(-10 * capWh); h.Snapshot().StoredWh != floor || got >= 0 {
		t.Errorf("emptying: took %v Wh, stored %v, want the reserve's %v", float64(got), float64(h.Snapshot().StoredWh), float64(floor))
	}
	if got := b.Exchange(10 * capWh); h.Snapshot().StoredWh != capWh || !near(float64(got), float64((capWh-floor)/eta), 1e-6) {
		t.Errorf("filling: gave %v Wh, stored %v", float64(got), float64(h.Snapshot().StoredWh))
	}
	if got := b.Exchange(gridmesh.Wh(math.NaN())); got != 0 {
		t.Errorf("NaN moved %v", float64(got))
	}
}
