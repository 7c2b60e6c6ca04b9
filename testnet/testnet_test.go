package testnet_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

// A short city: two neighborhoods of four homes, demand response and a
// leader kill in twelve seconds. `make testnet` runs the full-size one.
func TestShortCityTracksTargetsAndSurvivesLeaderKill(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 8, 2
	cfg.Duration = 12 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioDR, testnet.ScenarioLeaderKill}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	if len(rep.Neighborhood) != 2 {
		t.Fatalf("%d neighborhoods in the report", len(rep.Neighborhood))
	}
	for _, nb := range rep.Neighborhood {
		if nb.Leader == "" {
			t.Errorf("%s has no leader", nb.ID)
		}
		if nb.PlanCoverage != 1 {
			t.Errorf("%s plan coverage %v, want 1", nb.ID, nb.PlanCoverage)
		}
		if nb.LiveHomes != nb.Homes-1 {
			t.Errorf("%s: %d of %d homes live after one kill", nb.ID, nb.LiveHomes, nb.Homes)
		}
		if nb.TrackingErrorPct >= 5 {
			t.Errorf("%s tracking error %.2f%%, want under 5%%", nb.ID, nb.TrackingErrorPct)
		}
		if nb.LeaderChanges < 1 {
			t.Errorf("%s: leader changes %d after a kill", nb.ID, nb.LeaderChanges)
		}
	}
	if len(rep.FailoverMs) != 2 {
		t.Errorf("failover entries %v, want one per neighborhood", rep.FailoverMs)
	}
	// Two target changes per neighborhood, the first reaching its four
	// homes, the second (after the kill) its three survivors.
	if want := 2 * (4 + 3); rep.SignalToSetpointMs.N != want {
		t.Errorf("%d signal-to-setpoint samples, want %d (every live home applies every change)", rep.SignalToSetpointMs.N, want)
	}
	t.Logf("failover %v ms, signal→setpoint %+v, ticks missed %d, rejected %v",
		rep.FailoverMs, rep.SignalToSetpointMs, rep.LoopTicksMissed, rep.RejectedMessages)
}

func TestConfigRejectsUnknownScenario(t *testing.T) {
	if _, err := testnet.ParseScenarios("dr,meteor"); err == nil {
		t.Fatal("unknown scenario accepted")
	}
	cfg := testnet.DefaultConfig()
	cfg.Homes = 1
	if err := cfg.Validate(); err == nil {
		t.Fatal("fewer homes than neighborhoods accepted")
	}
}
