package backoff

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestDelaysDoubleWithinJitterAndCap(t *testing.T) {
	for _, tc := range []struct {
		name string
		rand func(int64) int64
	}{
		{"low", func(int64) int64 { return 0 }},
		{"high", func(n int64) int64 { return n - 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Backoff{Min: 100 * time.Millisecond, Max: 700 * time.Millisecond, Rand: tc.rand}
			for i, d := range []time.Duration{100, 200, 400, 700, 700} {
				d *= time.Millisecond
				if d > 700*time.Millisecond {
					d = 700 * time.Millisecond
				}
				got := b.Next()
				if got < d/2 || got > d {
					t.Fatalf("attempt %d: delay %v, want within [%v, %v]", i, got, d/2, d)
				}
			}
			b.Reset()
			if got := b.Next(); got > 100*time.Millisecond {
				t.Fatalf("after Reset: %v, want ≤ Min", got)
			}
		})
	}
}

func TestJitterSpreadsHomes(t *testing.T) {
	// Homes that lost the same peer at once must not retry in lock-step:
	// with the default source, a hundred first delays are not all equal.
	seen := map[time.Duration]bool{}
	for range 100 {
		seen[New(time.Second, time.Minute).Next()] = true
	}
	if len(seen) < 10 {
		t.Fatalf("100 backoffs gave %d distinct first delays", len(seen))
	}
}

func TestWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b := New(time.Hour, time.Hour)
		done := make(chan bool)
		go func() { done <- b.Wait(ctx) }()
		synctest.Wait()
		cancel()
		if <-done {
			t.Fatal("Wait reported the delay elapsed after ctx ended")
		}
		start := time.Now()
		if !Sleep(context.Background(), time.Second) {
			t.Fatal("Sleep reported ctx ended")
		}
		if got := time.Since(start); got != time.Second {
			t.Fatalf("slept %v of virtual time, want 1s", got)
		}
	})
}
