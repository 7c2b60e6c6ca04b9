package testnet_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

// A short city on a frequency dip: every home's battery gives its full
// droop response within two loop ticks, with no help from the network,
// and the feeders still track their targets outside the dip.
func TestFrequencyDipEveryHomeRespondsWithinTwoTicks(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 2
	cfg.Duration = 8 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioFrequencyDip}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	if rep.PrimaryResponseMs.N != cfg.Homes {
		t.Errorf("%d homes timed, want all %d", rep.PrimaryResponseMs.N, cfg.Homes)
	}
	if rep.PrimaryResponseLate != 0 {
		t.Errorf("%d homes late (over two loop ticks): %+v", rep.PrimaryResponseLate, rep.PrimaryResponseMs)
	}
	for _, nb := range rep.Neighborhood {
		if nb.TrackingErrorPct >= 5 {
			t.Errorf("%s tracking error %.2f%% over %d steady samples, want under 5%%", nb.ID, nb.TrackingErrorPct, nb.SteadySamples)
		}
	}
	t.Logf("primary response %+v ms, late %d, ticks missed %d", rep.PrimaryResponseMs, rep.PrimaryResponseLate, rep.LoopTicksMissed)
}
