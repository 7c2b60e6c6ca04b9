package guard_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/guard"
)

// fakeBattery is a battery the test can make hang (every call blocks
// until the gate is closed) or fail.
type fakeBattery struct {
	mu       sync.Mutex
	gate     chan struct{} // non-nil: calls block until it is closed
	fail     error         // non-nil: calls return it
	applyErr error         // non-nil: SetBatteryPower returns it
	power    gridmesh.W
	applied  []gridmesh.W // every SetBatteryPower, at entry
	calls    int          // every call, at entry
}

func (f *fakeBattery) enter() (gate chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.gate
}

func (f *fakeBattery) Battery() (gridmesh.Flexibility, error) {
	if g := f.enter(); g != nil {
		<-g
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return gridmesh.Flexibility{}, f.fail
	}
	return gridmesh.Flexibility{PowerW: f.power, MinW: -5_000, MaxW: 5_000, SoC: 0.5, CapacityWh: 10_000}, nil
}

func (f *fakeBattery) SetBatteryPower(w gridmesh.W) error {
	f.mu.Lock()
	f.applied = append(f.applied, w)
	f.mu.Unlock()
	if g := f.enter(); g != nil {
		<-g
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.applyErr != nil {
		return f.applyErr
	}
	f.power = w
	return nil
}

func (f *fakeBattery) hang() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = make(chan struct{})
	return f.gate
}

func (f *fakeBattery) release(gate chan struct{}) {
	f.mu.Lock()
	f.gate = nil
	f.mu.Unlock()
	close(gate)
}

func (f *fakeBattery) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
	if err != nil {
		f.power = 0 // as a rebooted device would come back
	}
}

func (f *fakeBattery) snapshot() (gridmesh.W, []gridmesh.W, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.power, slices.Clone(f.applied), f.calls
}

var errFlaky = &gridmesh.DeviceError{Device: "fake", Op: "read", Retryable: true, Err: errors.New("connection reset")}

// start runs a battery guard over dev in the bubble until the test ends.
func start(t *testing.T, dev *fakeBattery, cfg guard.Config) (*guard.Battery, context.CancelFunc, chan error) {
	t.Helper()
	g, err := guard.NewBattery(dev, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := run(t, g)
	return g, cancel, done
}

// run runs g until the test ends (or cancel), then checks it stopped for
// the cancellation; it returns once g's first poll has run.
func run(t *testing.T, g interface{ Run(context.Context) error }) (context.CancelFunc, chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	synctest.Wait()
	return cancel, done
}

// instant fails the test if f lets the bubble's clock move: a call that
// waited on the device would.
func instant[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	before := time.Now()
	v := f()
	if d := time.Since(before); d != 0 {
		t.Fatalf("%s took %v", what, d)
	}
	return v
}

func TestGuardReadsAndApplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &fakeBattery{power: 300}
		g, _, _ := start(t, dev, guard.DefaultConfig())
		f, err := g.Battery()
		if err != nil || f.PowerW != 300 {
			t.Fatalf("first reading: %+v, %v", f, err)
		}
		if err := g.SetBatteryPower(1_200); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the command went out at once, not at the next poll
		if p, _, _ := dev.snapshot(); p != 1_200 {
			t.Fatalf("device at %v after the command", p)
		}
		time.Sleep(guard.DefaultConfig().Period)
		synctest.Wait() // the poll due now has run
		if f, _ := g.Battery(); f.PowerW != 1_200 {
			t.Fatalf("reading %v a period after the command", f.PowerW)
		}
		// The same command again is not sent again.
		_ = g.SetBatteryPower(1_200)
		time.Sleep(3 * guard.DefaultConfig().Period)
		if _, applied, _ := dev.snapshot(); len(applied) != 1 {
			t.Fatalf("applied %v", applied)
		}
		if s := g.State(); s.Breaker != "closed" || !s.Available || s.Failures != 0 || s.CommandPending || s.Kind != "battery" {
			t.Fatalf("state %+v", s)
		}
	})
}

// TestGuardHungDevice: a device that stops answering never blocks the
// guard's methods; the breaker opens; half-open probes find it back once
// it answers, and the newest command reaches it first.
func TestGuardHungDevice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := guard.DefaultConfig()
		dev := &fakeBattery{}
		g, _, _ := start(t, dev, cfg)
		_ = g.SetBatteryPower(500)
		synctest.Wait()
		gate := dev.hang()
		_, _, callsBefore := dev.snapshot()

		// While the device hangs, every method returns at once.
		for range 30 {
			instant(t, "Battery", func() error { _, err := g.Battery(); return err })
			instant(t, "SetBatteryPower", func() error { return g.SetBatteryPower(800) })
			instant(t, "State", g.State)
			time.Sleep(cfg.Period)
		}
		s := g.State()
		if s.Breaker != "open" || s.Available || s.ConsecutiveFailures < cfg.FailuresToOpen || !s.CommandPending {
			t.Fatalf("after 3 s hung: %+v", s)
		}
		if _, err := g.Battery(); !errors.Is(err, gridmesh.ErrUnavailable) {
			t.Fatalf("Battery() while open: %v", err)
		}
		if err := g.SetBatteryPower(900); !errors.Is(err, gridmesh.ErrUnavailable) {
			t.Fatalf("SetBatteryPower while open: %v", err)
		}
		// Half-open probes while it still hangs reopen the breaker and do
		// not pile up calls: one goroutine waits on the device, no more.
		time.Sleep(2 * cfg.OpenTimeout)
		if s := g.State(); s.Breaker != "open" {
			t.Fatalf("probes into a hung device: %+v", s)
		}
		if _, _, calls := dev.snapshot(); calls != callsBefore+1 {
			t.Fatalf("%d calls into the hung device, want 1", calls-callsBefore)
		}

		dev.release(gate)
		time.Sleep(cfg.OpenTimeout + 2*cfg.Period)
		s = g.State()
		if s.Breaker != "closed" || !s.Available || s.CommandPending {
			t.Fatalf("after the device returned: %+v", s)
		}
		p, applied, _ := dev.snapshot()
		if p != 900 || applied[len(applied)-1] != 900 {
			t.Fatalf("device at %v, applied %v: want the newest command 900", p, applied)
		}
		if f, err := g.Battery(); err != nil || f.PowerW != 900 {
			t.Fatalf("reading %+v, %v", f, err)
		}
	})
}

// TestGuardReappliesAfterFailures: a device that failed (and came back
// idle, as from a reboot) gets the newest command again, unasked.
func TestGuardReappliesAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := guard.DefaultConfig()
		dev := &fakeBattery{}
		g, _, _ := start(t, dev, cfg)
		_ = g.SetBatteryPower(1_500)
		synctest.Wait()
		dev.setFail(errFlaky)
		time.Sleep(time.Duration(cfg.FailuresToOpen+1) * cfg.Period)
		if s := g.State(); s.Breaker != "open" || s.LastError == "" || s.Available {
			t.Fatalf("after failures: %+v", s)
		}
		if p, _, _ := dev.snapshot(); p != 0 {
			t.Fatalf("failed device at %v", p)
		}
		dev.setFail(nil)
		time.Sleep(cfg.OpenTimeout + 2*cfg.Period)
		p, applied, _ := dev.snapshot()
		if p != 1_500 || len(applied) < 2 || applied[len(applied)-1] != 1_500 {
			t.Fatalf("device at %v, applied %v: want 1500 re-applied", p, applied)
		}
		if s := g.State(); s.Breaker != "closed" || !s.Available || s.Rejected == 0 {
			t.Fatalf("after return: %+v", s)
		}
	})
}

// TestGuardStaleReading: with a breaker that will not open, a reading
// older than StaleAfter is still refused.
func TestGuardStaleReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := guard.DefaultConfig()
		cfg.FailuresToOpen = 1_000
		dev := &fakeBattery{}
		g, _, _ := start(t, dev, cfg)
		dev.setFail(errFlaky)
		time.Sleep(cfg.StaleAfter - cfg.Period/2)
		if _, err := g.Battery(); err != nil {
			t.Fatalf("reading younger than StaleAfter refused: %v", err)
		}
		time.Sleep(cfg.Period)
		_, err := g.Battery()
		if !errors.Is(err, gridmesh.ErrUnavailable) {
			t.Fatalf("stale reading: %v", err)
		}
		var de *gridmesh.DeviceError
		if !errors.As(err, &de) || !de.Retryable || de.Device != "battery" {
			t.Fatalf("error %#v", err)
		}
		if s := g.State(); s.Breaker != "closed" || s.Available {
			t.Fatalf("state %+v", s)
		}
	})
}

// TestGuardPermanentRefusal: a device that refuses a command for good
// answered; the breaker stays closed and the command is not retried.
func TestGuardPermanentRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := guard.DefaultConfig()
		dev := &fakeBattery{applyErr: &gridmesh.DeviceError{Device: "fake", Op: "set", Err: errors.New("out of range")}}
		g, _, _ := start(t, dev, cfg)
		_ = g.SetBatteryPower(100)
		time.Sleep(10 * cfg.Period)
		_, applied, _ := dev.snapshot()
		s := g.State()
		if len(applied) != 1 || s.Breaker != "closed" || !s.Available || s.LastError == "" || s.CommandPending {
			t.Fatalf("applied %v, state %+v", applied, s)
		}
	})
}

func TestGuardRefusesNonFinite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &fakeBattery{}
		g, _, _ := start(t, dev, guard.DefaultConfig())
		_ = g.SetBatteryPower(10)
		for _, w := range []gridmesh.W{gridmesh.W(math.NaN()), gridmesh.W(math.Inf(1)), gridmesh.W(math.Inf(-1))} {
			err := g.SetBatteryPower(w)
			if !errors.Is(err, guard.ErrNotFinite) || errors.Is(err, gridmesh.ErrUnavailable) {
				t.Errorf("SetBatteryPower(%v): %v", w, err)
			}
		}
		synctest.Wait()
		if c, ok := g.Command(); !ok || c != 10 {
			t.Errorf("newest command %v, %v", c, ok)
		}
		if _, applied, _ := dev.snapshot(); !slices.Equal(applied, []gridmesh.W{10}) {
			t.Errorf("applied %v", applied)
		}
	})
}

// TestGuardStopsWhileHung: Run returns when told to even while a device
// call hangs.
func TestGuardStopsWhileHung(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &fakeBattery{}
		g, err := guard.NewBattery(dev, guard.DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		gate := dev.hang()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
		if err := g.Run(context.Background()); err == nil {
			t.Error("second Run accepted")
		}
		dev.release(gate) // the abandoned call returns and its goroutine ends
	})
}

func TestConfigValidate(t *testing.T) {
	if err := guard.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*guard.Config){
		"zero period":              func(c *guard.Config) { c.Period = 0 },
		"negative timeout":         func(c *guard.Config) { c.CallTimeout = -1 },
		"zero stale":               func(c *guard.Config) { c.StaleAfter = 0 },
		"zero open timeout":        func(c *guard.Config) { c.OpenTimeout = 0 },
		"no failures to open":      func(c *guard.Config) { c.FailuresToOpen = 0 },
		"no probes":                func(c *guard.Config) { c.ProbesToClose = 0 },
		"stale within period":      func(c *guard.Config) { c.StaleAfter = c.Period },
		"open shorter than period": func(c *guard.Config) { c.OpenTimeout = c.Period / 2 },
	} {
		c := guard.DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: validated", name)
		}
		if _, err := guard.NewBattery(&fakeBattery{}, c, nil); err == nil {
			t.Errorf("%s: NewBattery accepted", name)
		}
	}
	if _, err := guard.NewMeter(nil, guard.DefaultConfig(), nil); err == nil {
		t.Error("nil device accepted")
	}
}

// nanMeter answers, with nonsense.
type nanMeter struct{}

func (nanMeter) Meter() (gridmesh.MeterReading, error) {
	return gridmesh.MeterReading{NetW: gridmesh.W(math.NaN()), VoltageV: 230, FrequencyHz: 50, GridOK: true}, nil
}

// TestGuardRefusesBadReadings: a reading with a non-finite figure is
// never handed out and counts against the breaker.
func TestGuardRefusesBadReadings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := guard.DefaultConfig()
		g, err := guard.NewMeter(nanMeter{}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		time.Sleep(time.Duration(cfg.FailuresToOpen) * cfg.Period)
		synctest.Wait()
		if _, err := g.Meter(); !errors.Is(err, gridmesh.ErrUnavailable) {
			t.Errorf("Meter(): %v", err)
		}
		if s := g.State(); s.Breaker != "open" || s.Successes != 0 || s.LastError == "" {
			t.Errorf("state %+v", s)
		}
		cancel()
		<-done
	})
}

// TestGuardWaitingDeviceIsNotFailing: a device that has not given its
// first reading (devices.ErrWaiting, as an MQTT device before its first
// state) keeps the breaker closed and shows as waiting; its first state
// is used at the next poll and a command given meanwhile reaches it at
// once, not after an OpenTimeout.
func TestGuardWaitingDeviceIsNotFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := guard.DefaultConfig()
		waiting := &gridmesh.DeviceError{Device: "fake", Op: "read", Retryable: true,
			Err: fmt.Errorf("%w: %w: no state received yet", gridmesh.ErrUnavailable, devices.ErrWaiting)}
		dev := &fakeBattery{fail: waiting}
		g, _, _ := start(t, dev, cfg)
		time.Sleep(10 * cfg.Period) // ten silent polls, well past FailuresToOpen
		s := g.State()
		if s.Breaker != "closed" || !s.Waiting || s.WaitingFor == "" || s.Failures != 0 || s.ConsecutiveFailures != 0 || s.Available {
			t.Fatalf("waiting device: %+v", s)
		}
		if _, err := g.Battery(); !errors.Is(err, devices.ErrWaiting) || !errors.Is(err, gridmesh.ErrUnavailable) {
			t.Fatalf("reading while waiting: %v, want unavailable and waiting", err)
		}
		dev.setFail(nil) // the first state arrives
		start := time.Now()
		time.Sleep(cfg.Period)
		synctest.Wait()
		if _, err := g.Battery(); err != nil {
			t.Fatalf("a period after the first state: %v", err)
		}
		if err := g.SetBatteryPower(800); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if p, _, _ := dev.snapshot(); p != 800 || time.Since(start) > cfg.Period {
			t.Fatalf("device at %v %v after its first state, want the command at once", p, time.Since(start))
		}
		if s := g.State(); s.Waiting || s.WaitingFor != "" || !s.Available {
			t.Fatalf("after the first state: %+v", s)
		}
	})
}
