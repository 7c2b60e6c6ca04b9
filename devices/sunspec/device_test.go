package sunspec_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/devices/sunspec"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
)

// The capabilities package control defines, restated here because devices
// and control never import each other.
var (
	_ interface {
		Battery() (gridmesh.Flexibility, error)
		SetBatteryPower(w gridmesh.W) error
	} = (*sunspec.Battery)(nil)
	_ interface {
		Meter() (gridmesh.MeterReading, error)
	} = (*sunspec.Meter)(nil)
	_ interface {
		PV() (gridmesh.PVState, error)
		SetPVLimit(w gridmesh.W) error
	} = (*sunspec.PV)(nil)
)

// Instants of a clear June day for the default sim home (PV from 06:00 to
// 20:00): at 13:00 the array gives its 6 kW peak, at midnight nothing.
var (
	peakHour = time.Date(2026, 6, 21, 13, 0, 0, 0, time.UTC)
	midnight = time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)
)

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// rig is a sim home behind a SunSpec server on 127.0.0.1.
type rig struct {
	home *sunspecserver.SimHome
	srv  *sunspecserver.Server
	stop func()
}

// serve starts a server for home at addr ("127.0.0.1:0" for a free port);
// it stops at the end of the test, or earlier through rig.stop.
func serve(t *testing.T, home *sunspecserver.SimHome, cfg sunspecserver.Config, addr string) *rig {
	t.Helper()
	srv, err := sunspecserver.New(cfg, home.Devices(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(addr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &rig{home: home, srv: srv, stop: stop}
}

// newHome is the default sim home frozen at an instant: nothing moves but
// what the test commands.
func newHome(t *testing.T, at time.Time, mod ...func(*sim.HomeParams)) *sunspecserver.SimHome {
	t.Helper()
	p := sunspecserver.DefaultSimHome()
	for _, m := range mod {
		m(&p)
	}
	h, err := sunspecserver.NewSimHome(p, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func idleConfig(mod ...func(*sunspecserver.Config)) sunspecserver.Config {
	cfg := sunspecserver.SimConfig(sunspecserver.DefaultSimHome())
	cfg.Fallback = sunspecserver.FallbackIdle
	for _, m := range mod {
		m(&cfg)
	}
	return cfg
}

// dial connects the driver to addr. Setpoints are written as soon as they
// move (no MinWriteInterval): these tests are about what is written;
// TestWritePacing is about when.
func dial(t *testing.T, addr string, mod ...func(*sunspec.Config)) *sunspec.Device {
	t.Helper()
	cfg := sunspec.DefaultConfig()
	cfg.Addr, cfg.Device = addr, "test-inverter"
	cfg.MinWriteInterval = 0
	for _, m := range mod {
		m(&cfg)
	}
	d, err := sunspec.Dial(t.Context(), cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func near(a, b gridmesh.W, tol float64) bool { return math.Abs(float64(a-b)) <= tol }

func TestDialDiscoversTheMapAtEveryBase(t *testing.T) {
	for _, base := range []uint16{40000, 0, 50000} {
		t.Run(fmt.Sprint(base), func(t *testing.T) {
			r := serve(t, newHome(t, peakHour), idleConfig(func(c *sunspecserver.Config) { c.Base = base }), "127.0.0.1:0")
			d := dial(t, r.srv.Addr())
			if d.Base() != base {
				t.Errorf("base %d, want %d", d.Base(), base)
			}
			var ids []uint16
			for _, h := range d.Models() {
				ids = append(ids, h.ID)
			}
			if want := []uint16{1, 120, 103, 123, 124, 802, 203}; !slices.Equal(ids, want) {
				t.Errorf("models %v, want %v", ids, want)
			}
			if c := d.Common(); c.Manufacturer != "gridmesh" || c.Model != "sim-hybrid" || c.Serial != "0001" || c.Version != "1.0" {
				t.Errorf("common %+v", c)
			}
			_, bat := d.BatteryView()
			_, met := d.MeterView()
			_, pv := d.PVView()
			if !bat || !met || !pv {
				t.Errorf("views battery %v meter %v pv %v, want all", bat, met, pv)
			}
		})
	}
}

func TestDialWithoutSunSpecIsPermanent(t *testing.T) {
	r := serve(t, newHome(t, peakHour), idleConfig(func(c *sunspecserver.Config) { c.Base = 50000 }), "127.0.0.1:0")
	cfg := sunspec.DefaultConfig()
	cfg.Addr, cfg.Bases = r.srv.Addr(), []uint16{40000, 0}
	_, err := sunspec.Dial(t.Context(), cfg, testLog(t))
	var de *gridmesh.DeviceError
	if !errors.As(err, &de) || de.Retryable || !errors.Is(err, sunspec.ErrNotSunSpec) {
		t.Fatalf("err = %v, want a permanent ErrNotSunSpec", err)
	}
}

func TestCapabilitiesFollowTheModels(t *testing.T) {
	tests := map[string]struct {
		models        []uint16
		bat, met, pvv bool
	}{
		"battery only":  {[]uint16{1, 124, 802}, true, false, false},
		"124 alone":     {[]uint16{1, 124}, true, false, false},
		"inverter only": {[]uint16{1, 120, 103, 123}, false, false, true},
		"no limit":      {[]uint16{1, 120, 103, 203}, false, true, false},
		"no rating":     {[]uint16{1, 103, 123}, false, false, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := serve(t, newHome(t, peakHour), idleConfig(func(c *sunspecserver.Config) { c.Models = tc.models }), "127.0.0.1:0")
			d := dial(t, r.srv.Addr())
			_, bat := d.BatteryView()
			_, met := d.MeterView()
			_, pv := d.PVView()
			if bat != tc.bat || met != tc.met || pv != tc.pvv {
				t.Errorf("views battery %v meter %v pv %v, want %v %v %v", bat, met, pv, tc.bat, tc.met, tc.pvv)
			}
		})
	}
}

func TestBatterySetpointMovesTheSimulatedBattery(t *testing.T) {
	r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
	b, _ := dial(t, r.srv.Addr()).BatteryView()
	for _, w := range []gridmesh.W{2000, -1500, 0, 9000} {
		if err := b.SetBatteryPower(w); err != nil {
			t.Fatal(err)
		}
		want := w.Clamp(-5000, 5000)
		if got := r.home.Home().Snapshot().BatteryW; !near(got, want, 0.5) {
			t.Errorf("set %v: simulated battery at %v, want %v", w, got, want)
		}
		f, err := b.Battery()
		if err != nil {
			t.Fatal(err)
		}
		if !near(f.PowerW, want, 1) || f.SoC != 0.5 || f.CapacityWh != 10_000 || f.MaxW != 5000 || f.MinW != -5000 {
			t.Errorf("set %v: read %+v", w, f)
		}
	}
	if err := b.SetBatteryPower(gridmesh.W(math.NaN())); err == nil || isRetryable(err) {
		t.Errorf("NaN setpoint: %v, want a permanent error", err)
	}
}

func isRetryable(err error) bool {
	var de *gridmesh.DeviceError
	return errors.As(err, &de) && de.Retryable && errors.Is(err, gridmesh.ErrUnavailable)
}

func TestMeterReadsTheSimulatedMeter(t *testing.T) {
	r := serve(t, newHome(t, midnight), idleConfig(), "127.0.0.1:0")
	m, _ := dial(t, r.srv.Addr()).MeterView()
	got, err := m.Meter()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := r.home.Meter()
	if !near(got.NetW, want.NetW, 1) || got.VoltageV != 230 || got.FrequencyHz != 50 || !got.GridOK || got.NetW <= 0 {
		t.Errorf("meter %+v, want %+v", got, want)
	}
}

// A 40 kW array outgrows an int16 of watts: the server scales W by 10
// and the driver must apply it.
func TestScaleFactorsAboveInt16(t *testing.T) {
	home := newHome(t, peakHour, func(p *sim.HomeParams) { p.PV.PeakW = 40_000 })
	r := serve(t, home, idleConfig(), "127.0.0.1:0")
	d := dial(t, r.srv.Addr())
	pv, _ := d.PVView()
	s, err := pv.PV()
	if err != nil {
		t.Fatal(err)
	}
	if !near(s.PowerW, 40_000, 10) || s.PeakW != 40_000 || s.LimitW != 40_000 {
		t.Errorf("pv %+v, want 40 kW at peak", s)
	}
	m, _ := d.MeterView()
	got, err := m.Meter()
	want, _ := home.Meter()
	if err != nil || !near(got.NetW, want.NetW, 10) || got.NetW > -30_000 {
		t.Errorf("meter %+v (%v), want %v", got, err, want.NetW)
	}
}

func TestPVCurtailment(t *testing.T) {
	for name, models := range map[string][]uint16{
		"123": nil,
		"704": {1, 120, 103, 704, 124, 802, 203},
	} {
		t.Run(name, func(t *testing.T) {
			r := serve(t, newHome(t, peakHour), idleConfig(func(c *sunspecserver.Config) { c.Models = models }), "127.0.0.1:0")
			d := dial(t, r.srv.Addr())
			pv, _ := d.PVView()
			s, err := pv.PV()
			if err != nil || !near(s.PowerW, 6000, 1) || s.LimitW != 6000 {
				t.Fatalf("before: %+v, %v", s, err)
			}
			if err := pv.SetPVLimit(1500); err != nil {
				t.Fatal(err)
			}
			if s, _ := r.home.PV(); s.LimitW != 1500 || s.PowerW != 1500 {
				t.Errorf("simulated inverter %+v, want capped at 1500 W", s)
			}
			// A charging battery behind the same inverter must not hide PV.
			b, _ := d.BatteryView()
			if err := b.SetBatteryPower(2000); err != nil {
				t.Fatal(err)
			}
			s, err = pv.PV()
			if err != nil || !near(s.PowerW, 1500, 2) || !near(s.LimitW, 1500, 6) || s.PeakW != 6000 {
				t.Errorf("limited: %+v, %v", s, err)
			}
			if err := pv.SetPVLimit(1e6); err != nil {
				t.Fatal(err)
			}
			if s, err = pv.PV(); err != nil || !near(s.PowerW, 6000, 2) || s.LimitW != 6000 {
				t.Errorf("lifted: %+v, %v", s, err)
			}
		})
	}
}

func TestSetpointsRevertWithoutWrites(t *testing.T) {
	r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
	d := dial(t, r.srv.Addr(), func(c *sunspec.Config) { c.ReversionTimeout = time.Second })
	b, _ := d.BatteryView()
	pv, _ := d.PVView()
	start := time.Now()
	if err := b.SetBatteryPower(2000); err != nil {
		t.Fatal(err)
	}
	if err := pv.SetPVLimit(1000); err != nil {
		t.Fatal(err)
	}
	if w := r.home.Home().Snapshot().BatteryW; w != 2000 {
		t.Fatalf("battery at %v, want 2000 W", w)
	}
	eventually(t, 5*time.Second, "battery back to idle and PV uncapped", func() bool {
		s, _ := r.home.PV()
		return r.home.Home().Snapshot().BatteryW == 0 && s.LimitW == 6000
	})
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("reverted after %v, before the 1 s reversion time", el)
	}
	// The driver still holds its setpoints: the next calls find them
	// dropped and write them again.
	if _, err := b.Battery(); err != nil {
		t.Fatal(err)
	}
	if _, err := pv.PV(); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.home.PV(); r.home.Home().Snapshot().BatteryW != 2000 || !near(s.LimitW, 1000, 6) {
		t.Errorf("after reversion and a reading: battery %v, PV limit %v; want the held 2000 W and 1000 W",
			r.home.Home().Snapshot().BatteryW, s.LimitW)
	}
}

// Under no setpoint the server does what a hybrid inverter does: it holds
// the meter at 0 with the battery.
func TestSelfConsumptionFallback(t *testing.T) {
	home := newHome(t, midnight)
	serve(t, home, sunspecserver.SimConfig(sunspecserver.DefaultSimHome()), "127.0.0.1:0")
	eventually(t, 5*time.Second, "meter held at 0 W by discharging", func() bool {
		m, _ := home.Meter()
		return math.Abs(float64(m.NetW)) < 1 && home.Home().Snapshot().BatteryW < 0
	})
}

func TestTimeoutWhenTheDeviceStopsAnswering(t *testing.T) {
	r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
	const timeout = 300 * time.Millisecond
	d := dial(t, r.srv.Addr(), func(c *sunspec.Config) { c.Timeout = timeout })
	b, _ := d.BatteryView()
	r.srv.Stall(true)
	for range 2 { // the second call reconnects to a device that still says nothing
		start := time.Now()
		_, err := b.Battery()
		if el := time.Since(start); el > timeout+250*time.Millisecond { // slack for scheduling under -race
			t.Errorf("call returned after %v, timeout %v", el, timeout)
		}
		if !isRetryable(err) {
			t.Fatalf("err = %v, want retryable and ErrUnavailable", err)
		}
	}
	r.srv.Stall(false)
	eventually(t, 5*time.Second, "reads again", func() bool { _, err := b.Battery(); return err == nil })
}

func TestReconnectAfterServerRestart(t *testing.T) {
	home := newHome(t, peakHour)
	r := serve(t, home, idleConfig(), "127.0.0.1:0")
	addr := r.srv.Addr()
	d := dial(t, addr)
	b, _ := d.BatteryView()
	if _, err := b.Battery(); err != nil {
		t.Fatal(err)
	}
	r.stop()
	if _, err := b.Battery(); !isRetryable(err) {
		t.Fatalf("with the server gone: %v, want retryable", err)
	}
	// It comes back on the same port, its map moved: the driver discovers
	// it again.
	serve(t, home, idleConfig(func(c *sunspecserver.Config) { c.Base = 50000 }), addr)
	eventually(t, 5*time.Second, "reads again", func() bool { _, err := b.Battery(); return err == nil })
	if err := b.SetBatteryPower(1000); err != nil {
		t.Fatal(err)
	}
	if w := home.Home().Snapshot().BatteryW; w != 1000 {
		t.Errorf("battery at %v after reconnecting, want 1000 W", w)
	}
}

func TestConcurrentCalls(t *testing.T) {
	r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
	d := dial(t, r.srv.Addr())
	b, _ := d.BatteryView()
	m, _ := d.MeterView()
	pv, _ := d.PVView()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			for j := range 20 {
				var err error
				switch i {
				case 0:
					err = b.SetBatteryPower(gridmesh.W(100 * j))
				case 1:
					_, err = m.Meter()
				case 2:
					_, err = pv.PV()
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCallsAfterCloseFail(t *testing.T) {
	r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
	d := dial(t, r.srv.Addr())
	b, _ := d.BatteryView()
	d.Close()
	if _, err := b.Battery(); !errors.Is(err, sunspec.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

// Release hands the battery back to the inverter's own self-consumption
// and lifts the PV limit; the driver writes nothing of the setpoints it
// dropped, however often it is read.
func TestReleaseHandsTheDeviceBack(t *testing.T) {
	home := newHome(t, midnight) // a load and no sun: self-consumption discharges
	r := serve(t, home, sunspecserver.SimConfig(sunspecserver.DefaultSimHome()), "127.0.0.1:0")
	d := dial(t, r.srv.Addr())
	b, _ := d.BatteryView()
	pv, _ := d.PVView()
	var _ devices.Releaser = b
	var _ devices.Releaser = pv
	if err := b.SetBatteryPower(2000); err != nil {
		t.Fatal(err)
	}
	if err := pv.SetPVLimit(1000); err != nil {
		t.Fatal(err)
	}
	if w := home.Home().Snapshot().BatteryW; w != 2000 {
		t.Fatalf("battery at %v, want the setpoint 2000 W", w)
	}
	if err := devices.Release(t.Context(), b, pv); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := b.Battery(); err != nil {
			t.Fatal(err)
		}
		if _, err := pv.PV(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "meter held at 0 W by the inverter's own discharging", func() bool {
		m, _ := home.Meter()
		return math.Abs(float64(m.NetW)) < 1 && home.Home().Snapshot().BatteryW < 0
	})
	if s, _ := home.PV(); s.LimitW != 6000 {
		t.Errorf("PV limit %v after release, want none (6000 W)", s.LimitW)
	}
	// A setpoint after the release steers again, mode and all.
	if err := b.SetBatteryPower(1000); err != nil {
		t.Fatal(err)
	}
	if w := home.Home().Snapshot().BatteryW; w != 1000 {
		t.Errorf("battery at %v after a new setpoint, want 1000 W", w)
	}
}

// Why StorageRates must match the device: a window driver's InWRte = p,
// OutWRte = -p reads on a net device as p - (-p), twice the setpoint.
func TestStorageRatesMustMatchTheDevice(t *testing.T) {
	netServer := idleConfig(func(c *sunspecserver.Config) { c.StorageRates = sunspecserver.RatesNet })
	for _, tc := range []struct {
		rates sunspec.StorageRates
		want  gridmesh.W
	}{
		{sunspec.RatesNet, 1000},
		{sunspec.RatesWindow, 2000}, // the mismatch
	} {
		t.Run(string(tc.rates), func(t *testing.T) {
			r := serve(t, newHome(t, peakHour), netServer, "127.0.0.1:0")
			b, _ := dial(t, r.srv.Addr(), func(c *sunspec.Config) { c.StorageRates = tc.rates }).BatteryView()
			if err := b.SetBatteryPower(1000); err != nil {
				t.Fatal(err)
			}
			if got := r.home.Home().Snapshot().BatteryW; !near(got, tc.want, 1) {
				t.Errorf("battery at %v, want %v", got, tc.want)
			}
		})
	}
}

// A battery whose device has no 802 still reads its power: from 160's
// storage modules, else from 103's DC input less its AC output on a
// hybrid; the reading says which. Without either it reads 0, from none.
func TestBatteryPowerWithout802(t *testing.T) {
	for _, tc := range []struct {
		models []uint16
		source sunspec.PowerSource
		track  bool
	}{
		{nil, sunspec.Source802, true},
		{[]uint16{1, 120, 103, 160, 123, 124, 203}, sunspec.Source160, true},
		{[]uint16{1, 120, 103, 123, 124, 203}, sunspec.Source103, true},
		{[]uint16{1, 120, 124}, sunspec.SourceNone, false},
	} {
		t.Run(string(tc.source), func(t *testing.T) {
			r := serve(t, newHome(t, peakHour), idleConfig(func(c *sunspecserver.Config) { c.Models = tc.models }), "127.0.0.1:0")
			d := dial(t, r.srv.Addr())
			b, _ := d.BatteryView()
			for _, w := range []gridmesh.W{2000, -1500} {
				if err := b.SetBatteryPower(w); err != nil {
					t.Fatal(err)
				}
				f, err := b.Battery()
				if err != nil {
					t.Fatal(err)
				}
				want := w
				if !tc.track {
					want = 0
				}
				if !near(f.PowerW, want, 2) || f.SoC != 0.5 || f.CapacityWh != 10_000 {
					t.Errorf("set %v: read %+v, want power %v", w, f, want)
				}
				if got := d.Stats().BatteryPowerSource; got != tc.source {
					t.Errorf("source %q, want %q", got, tc.source)
				}
			}
			if pv, ok := d.PVView(); ok {
				// A hybrid's PV is its AC output plus what the battery takes.
				if s, err := pv.PV(); err != nil || !near(s.PowerW, 6000, 3) {
					t.Errorf("pv %+v, %v: want 6000 W whatever the battery does", s, err)
				}
			}
		})
	}
}

// A wrong unit ID is named in Dial's error, with the usual ones to try;
// the error stays retryable (the device may yet be set right).
func TestDialWrongUnitIDSaysSo(t *testing.T) {
	r := serve(t, newHome(t, peakHour), idleConfig(), "127.0.0.1:0")
	cfg := sunspec.DefaultConfig()
	cfg.Addr, cfg.UnitID = r.srv.Addr(), 3
	_, err := sunspec.Dial(t.Context(), cfg, testLog(t))
	var de *gridmesh.DeviceError
	if !errors.As(err, &de) || !de.Retryable {
		t.Fatalf("err = %v, want a retryable device error", err)
	}
	if want := fmt.Sprintf("no answer from unit ID 3 at %s: check the device's Modbus unit ID", r.srv.Addr()); !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to say %q", err, want)
	}
}
