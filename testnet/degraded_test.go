package testnet

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The histogram's percentiles are the exact ones rounded up to their
// 10 ms bucket, never past the largest figure.
func TestMsHistMatchesExactPercentiles(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var h msHist
	var xs []float64
	for range 10_000 {
		x := rng.ExpFloat64() * 800
		h.add(x)
		xs = append(xs, x)
	}
	got, want := h.percentiles(), percentiles(xs)
	if got.N != want.N || got.Max != want.Max {
		t.Fatalf("n %d max %v, want %d %v", got.N, got.Max, want.N, want.Max)
	}
	for _, p := range [][2]float64{{got.P50, want.P50}, {got.P99, want.P99}} {
		if p[0] < p[1] || p[0] > p[1]+histStepMs {
			t.Errorf("percentile %v, exact %v: want within one bucket above", p[0], p[1])
		}
	}
	if (&msHist{}).percentiles() != (Percentiles{}) {
		t.Error("an empty histogram has percentiles")
	}
	var over msHist
	over.add(500_000) // past the last bucket: counted, and the max kept
	if p := over.percentiles(); p.N != 1 || p.Max != 500_000 || p.P99 != 500_000 {
		t.Errorf("a figure past the last bucket: %+v", p)
	}
}

// Gaps are timed per neighborhood; one past the limit is late.
func TestPlanGaps(t *testing.T) {
	t0 := time.Unix(1_764_000_000, 0)
	g := planGaps{limit: 2 * time.Second}
	for _, p := range []struct {
		nb gridmesh.NeighborhoodID
		at time.Duration
	}{{"a", 0}, {"b", 500 * time.Millisecond}, {"a", time.Second}, {"b", 1500 * time.Millisecond}, {"a", 5 * time.Second}} {
		g.published(p.nb, t0.Add(p.at))
	}
	if p := g.gaps.percentiles(); p.N != 3 || p.Max != 4000 || p.P50 != 1000 {
		t.Errorf("gaps %+v, want 3 with median 1000 ms and max 4000 ms", p)
	}
	if g.late != 1 {
		t.Errorf("%d late, want 1", g.late)
	}
}
