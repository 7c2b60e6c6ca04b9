package testnet_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

// The dr scenario's cut is a signed regional signal: the neighborhoods
// split it among themselves, each carries a share, and the shares add up
// to the request.
func TestDRIsARegionalSignal(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 9, 3
	// 20 s: the cut starts at a third of the run, and only leaders hear
	// aggregates, from when they lead; on a loaded machine leaders are
	// elected 4-6 s in and their views are warm a few seconds later.
	cfg.Duration = 20 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioDR}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	var sum float64
	for _, nb := range rep.Neighborhood {
		if nb.RegionalShareW <= 0 {
			t.Errorf("%s carried no share of the cut", nb.ID)
		}
		if nb.TrackingErrorPct >= 5 {
			t.Errorf("%s tracking error %.2f%%, want under 5%%", nb.ID, nb.TrackingErrorPct)
		}
		sum += float64(nb.RegionalShareW)
	}
	if want := float64(cfg.DRCutPerHomeW) * float64(cfg.Homes); math.Abs(sum-want) > 1e-6*want {
		t.Errorf("shares sum to %v, want the request %v", sum, want)
	}
	// Start and end of the cut, each reaching every home.
	if want := 2 * cfg.Homes; rep.SignalToSetpointMs.N != want {
		t.Errorf("%d signal-to-setpoint samples, want %d", rep.SignalToSetpointMs.N, want)
	}
	if len(rep.SignalsRejected) != 0 {
		t.Errorf("signals rejected: %v", rep.SignalsRejected)
	}
	t.Logf("shares %v W, signal→setpoint %+v", sharesOf(rep), rep.SignalToSetpointMs)
}

func sharesOf(rep *testnet.Report) []float64 {
	var out []float64
	for _, nb := range rep.Neighborhood {
		out = append(out, float64(nb.RegionalShareW))
	}
	return out
}

// A short regulation run: the region follows a RegD-like signal with the
// capacity it offered. Too short for a PJM score (that needs 10 minutes
// of samples, see BENCHMARKS.md for the long run), it is held to the
// precision PJM would measure.
func TestRegulationFollowsSignal(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 2
	cfg.Duration = 20 * time.Second // as TestDRIsARegionalSignal's
	cfg.Scenarios = []string{testnet.ScenarioRegulation}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	reg := rep.Regulation
	if reg == nil {
		t.Fatal("no regulation report")
	}
	if rep.PJMScore != nil || reg.PJMScoreError == "" {
		t.Errorf("a 20 s run was scored: %+v", rep.PJMScore)
	}
	if reg.Precision < 0.7 {
		t.Errorf("precision %.3f (mean abs error %.3f of the offer), want at least 0.7", reg.Precision, reg.MeanAbsError)
	}
	for _, nb := range rep.Neighborhood {
		if nb.RegionalShareW <= 0 {
			t.Errorf("%s carried no share of the regulation", nb.ID)
		}
	}
	t.Logf("regulation %+v, shares %v", *reg, sharesOf(rep))
}
