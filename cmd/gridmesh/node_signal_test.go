package main

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// fakeLeader hands over after handover, or never when handover is 0;
// it records when Leave was called and whether its context had ended.
type fakeLeader struct {
	handover time.Duration
	calls    int
	calledAt time.Time
}

func (f *fakeLeader) Leave(ctx context.Context) error {
	f.calls++
	f.calledAt = time.Now()
	if f.handover == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-time.After(f.handover):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// On a signal the home hands over before it is stopped: as soon as the
// handover is done, or after the timeout when it never is. A home that
// stops on its own is not asked to hand over.
func TestHandOverOnSignal(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name     string
		handover time.Duration // 0: never
		wantStop time.Duration // after the signal
	}{
		{"handover done", 300 * time.Millisecond, 300 * time.Millisecond},
		{"no voter takes over", 0, leaveTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sig, signal := context.WithCancel(context.Background())
				home, stop := context.WithCancel(context.Background())
				h := &fakeLeader{handover: tc.handover}
				done := make(chan struct{})
				go func() { handOverOnSignal(sig, home, h, leaveTimeout, stop, log); close(done) }()
				time.Sleep(time.Minute)
				synctest.Wait()
				if h.calls != 0 || home.Err() != nil {
					t.Fatalf("before any signal: %d Leave calls, home context %v", h.calls, home.Err())
				}
				at := time.Now()
				signal()
				<-home.Done()
				if got := time.Since(at); got != tc.wantStop {
					t.Errorf("home stopped %v after the signal, want %v", got, tc.wantStop)
				}
				<-done
				if h.calls != 1 || !h.calledAt.Equal(at) {
					t.Errorf("Leave called %d times, at +%v", h.calls, h.calledAt.Sub(at))
				}
			})
		})
	}
	t.Run("home stops first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sig, signal := context.WithCancel(context.Background())
			defer signal()
			home, stop := context.WithCancel(context.Background())
			h := &fakeLeader{handover: time.Millisecond}
			done := make(chan struct{})
			go func() { handOverOnSignal(sig, home, h, leaveTimeout, func() {}, log); close(done) }()
			stop()
			<-done
			if h.calls != 0 {
				t.Errorf("Leave called %d times on a home that stopped on its own", h.calls)
			}
		})
	})
}
