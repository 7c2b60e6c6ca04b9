package session

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	lowest := func(int64) int64 { return 0 }
	b := backoff{min: 100 * time.Millisecond, max: time.Second, jitter: lowest}
	var got []time.Duration
	for range 6 {
		got = append(got, b.next())
	}
	want := []time.Duration{50, 100, 200, 400, 500, 500}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("lowest delays %v, want %v ms", got, want)
		}
	}
	b.reset()
	if d := b.next(); d != 50*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}

	highest := func(n int64) int64 { return n - 1 }
	b = backoff{min: 100 * time.Millisecond, max: time.Second, jitter: highest}
	for i, w := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if d := b.next(); d != w*time.Millisecond {
			t.Fatalf("highest delay %d: %v, want %v ms", i, d, w)
		}
	}
}
