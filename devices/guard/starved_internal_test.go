package guard

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// startedLate starts every device call delay after it was asked for, as
// a machine short of CPU does when the call's goroutine waits its turn.
func startedLate(delay time.Duration) func(func()) {
	return func(f func()) {
		go func() {
			time.Sleep(delay)
			f()
		}()
	}
}

// A device that answers at once, on a machine that starts every call
// three CallTimeouts late: no call counts as failed, the breaker stays
// closed and the readings, dated when their call began, are fresh.
func TestStarvedCallsAreNotDeviceFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		var reads atomic.Int64
		g, err := newGuard[int64, struct{}]("meter", cfg, nil, func() (int64, error) { return reads.Add(1), nil }, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		g.spawn = startedLate(3 * cfg.CallTimeout)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		time.Sleep(10 * cfg.CallTimeout)
		s := g.State()
		if s.Failures != 0 || s.Breaker != "closed" || s.Successes == 0 {
			t.Errorf("after %v of calls started %v late: %+v", 10*cfg.CallTimeout, 3*cfg.CallTimeout, s)
		}
		if _, at, err := g.Read(); err != nil || time.Since(at) > cfg.StaleAfter {
			t.Errorf("reading dated %v ago, %v", time.Since(at), err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		time.Sleep(4 * cfg.CallTimeout) // the calls still waiting their turn end
	})
}

// A call that has begun and runs past CallTimeout still times out, however
// late it began.
func TestStarvedHungCallTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		hung := make(chan struct{})
		g, err := newGuard[int64, struct{}]("meter", cfg, nil, func() (int64, error) { <-hung; return 0, nil }, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		g.spawn = startedLate(2 * cfg.CallTimeout)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		time.Sleep(2*cfg.CallTimeout + cfg.CallTimeout/2)
		if s := g.State(); s.Failures != 0 {
			t.Errorf("a call running for half its timeout counted failed: %+v", s)
		}
		time.Sleep(cfg.CallTimeout)
		if s := g.State(); s.Failures == 0 {
			t.Errorf("a call running past its timeout not counted: %+v", s)
		}
		cancel()
		close(hung)
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		time.Sleep(4 * cfg.CallTimeout) // the calls still waiting their turn end
	})
}

// An answer that is in when the timer fires is taken, not counted as a
// timeout.
func TestAnswerBeatsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		done := make(chan callResult[int], 1)
		var began atomic.Int64
		began.Store(time.Now().Add(-time.Hour).UnixNano())
		done <- callResult[int]{v: 7}
		for range 100 { // both ready at once: select alone would pick either
			r, err := awaitCall(context.Background(), 0, &began, done)
			if err != nil || r.v != 7 {
				t.Fatalf("got %v, %v; want the answer", r.v, err)
			}
			done <- r
		}
	})
}
