package testnet_test

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

// The generated signal is deterministic, in range, moves, and is near
// energy-neutral.
func TestGenerateRegD(t *testing.T) {
	a := testnet.GenerateRegD(1, 2*time.Second, 450)
	b := testnet.GenerateRegD(1, 2*time.Second, 450)
	var sum, lo, hi float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("value %d differs between runs", i)
		}
		if a[i] < -1 || a[i] > 1 {
			t.Fatalf("value %d = %v", i, a[i])
		}
		sum += a[i]
		lo, hi = min(lo, a[i]), max(hi, a[i])
	}
	if hi-lo < 1 {
		t.Errorf("the signal spans [%v, %v] only", lo, hi)
	}
	if mean := sum / float64(len(a)); math.Abs(mean) > 0.2 {
		t.Errorf("mean %v over 15 minutes: not near energy-neutral", mean)
	}
}
