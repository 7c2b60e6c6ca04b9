package session

import (
	"testing"
	"time"
)

// The delays between connections double from ReconnectMin to
// ReconnectMax, each between half and all of its step, and start over
// after Reset.
func TestReconnectBackoff(t *testing.T) {
	cfg := Config{ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second}
	for _, tc := range []struct {
		name string
		rand func(int64) int64
		want []time.Duration // ms
	}{
		{"lowest", func(int64) int64 { return 0 }, []time.Duration{50, 100, 200, 400, 500, 500}},
		{"highest", func(n int64) int64 { return n - 1 }, []time.Duration{100, 200, 400, 800, 1000, 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := reconnectBackoff(cfg)
			b.Rand = tc.rand
			for i, w := range tc.want {
				if d := b.Next(); d != w*time.Millisecond {
					t.Fatalf("delay %d: %v, want %v ms", i, d, w)
				}
			}
			b.Reset()
			if d := b.Next(); d != tc.want[0]*time.Millisecond {
				t.Fatalf("after Reset: %v, want %v ms", d, tc.want[0])
			}
		})
	}
}
