package testnet_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

// Two hours without the grid, at 600× (12 s of real time), for two
// neighborhoods of three full homes: the islands hold, critical load is
// served throughout, and nothing blacks out while energy is left.
func TestShortOutageIslandsHold(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 2
	cfg.Duration = 22 * time.Second
	cfg.Speed = 600
	cfg.Outage = 2 * time.Hour
	cfg.Scenarios = []string{testnet.ScenarioOutage}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	// Every device answers: none of the loops' calls may fail (the first
	// tick, before the guards' first poll, does not count).
	if rep.DeviceErrors != 0 {
		t.Errorf("%d device errors", rep.DeviceErrors)
	}
	is := rep.Island
	if is == nil {
		t.Fatal("no island section in the report")
	}
	t.Logf("island: %+v", *is)
	if is.CriticalDemandKWh <= 0 {
		t.Fatalf("no critical demand accounted: %+v", *is)
	}
	// Served is what the sources supplied, from samples of the homes'
	// loops, each a tick from balance either way: over an hour's bin that
	// reads within half a percent of the draw on a balanced island.
	if is.EndSoCPct > 1 && (is.Blackouts != 0 || is.CriticalServedPct < 99.5) {
		t.Errorf("energy left (%.1f%%) but %d blackouts, critical served %.2f%%", is.EndSoCPct, is.Blackouts, is.CriticalServedPct)
	}
	// The perfect-foresight bound is an upper bound: nothing serves more
	// (1 % for the bound's hourly bins against the sampled accounting).
	if is.CriticalVsBound > 1.01 || is.CriticalBoundPct < is.CriticalServedPct-1 {
		t.Errorf("served %.2f%% of critical load, above the bound's %.2f%% (ratio %.3f)", is.CriticalServedPct, is.CriticalBoundPct, is.CriticalVsBound)
	}
	for _, f := range is.Feeders {
		if f.CriticalBoundPct >= 100-1e-6 && f.Blackouts != 0 {
			t.Errorf("island %v went dark %d times where the bound serves all its critical load", f.Homes, f.Blackouts)
		}
	}
	if is.FrequencyMinHz < 47.5 || is.FrequencyMaxHz > 52 {
		t.Errorf("island frequency %v-%v Hz outside the trip band", is.FrequencyMinHz, is.FrequencyMaxHz)
	}
}

func TestOutageMustFitTheRun(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Scenarios = []string{testnet.ScenarioOutage}
	cfg.Outage, cfg.Speed = 24*time.Hour, 10
	if err := cfg.Validate(); err == nil {
		t.Fatal("a 24 h outage at 10× accepted in a 30 s run")
	}
	cfg.Speed = 0.5
	if err := cfg.Validate(); err == nil {
		t.Fatal("speed below 1 accepted")
	}
}

func TestStormAnnouncesAnOutage(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Scenarios = []string{testnet.ScenarioStorm}
	if err := cfg.Validate(); err == nil {
		t.Fatal("a storm warning without an outage accepted")
	}
	cfg.Scenarios = []string{testnet.ScenarioOutage, testnet.ScenarioStorm}
	cfg.Outage, cfg.Speed = 2*time.Hour, 600
	if err := cfg.Validate(); err != nil {
		t.Fatalf("outage with a storm warning refused: %v", err)
	}
	cfg.OutageAt = cfg.Settle // no later than the warning
	if err := cfg.Validate(); err == nil {
		t.Fatal("an outage no later than the storm warning accepted")
	}
	cfg.OutageAt = 3 * cfg.Settle
	if err := cfg.Validate(); err != nil {
		t.Fatalf("an outage three settle times in refused: %v", err)
	}
}
