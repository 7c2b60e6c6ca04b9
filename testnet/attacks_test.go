package testnet_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

// Members gone bad, in one short run of one neighborhood: a flooder, a
// liar forging plans, a replayer, two members announcing a made-up
// cluster, and a voter revoked. Every attack is refused and counted, and
// the honest homes keep their plans. Timings are the report's (and
// docs/SECURITY.md's), not asserted here: the machine is shared.
func TestAttacksRefused(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 1
	// 40 s: the revocation, at 11/16 of the run, has 12 s to commit and
	// take effect even through an election on a loaded machine.
	cfg.Duration = 40 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioFlood, testnet.ScenarioLiar, testnet.ScenarioReplay,
		testnet.ScenarioWitnessLie, testnet.ScenarioRevoke}
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Attacks
	if a == nil || a.Flood == nil || a.Liar == nil || a.Replay == nil || a.WitnessLie == nil || a.Revoke == nil {
		t.Fatalf("attacks did not all run: %+v; errors %q", a, rep.Errors)
	}
	if rep.PlansFromNonMembersApplied != 0 || rep.StalePlansApplied != 0 || a.Liar.ForgedPlansApplied != 0 {
		t.Errorf("applied: %d plans of non-members, %d stale, %d forged", rep.PlansFromNonMembersApplied, rep.StalePlansApplied, a.Liar.ForgedPlansApplied)
	}
	if a.Flood.Published == 0 || a.Flood.HomesGraylisted == 0 || a.Flood.RefusedOverRate == 0 {
		t.Errorf("flood: %d published, %d homes graylisted the flooder, %d refused over rate", a.Flood.Published, a.Flood.HomesGraylisted, a.Flood.RefusedOverRate)
	}
	if a.Liar.PlansPublished == 0 {
		t.Errorf("liar: no forged plan published: the door was not tried")
	}
	if a.Replay.PlansReplayed > 0 && a.Replay.Refused == 0 {
		t.Errorf("replay: %d plans replayed, none refused", a.Replay.PlansReplayed)
	}
	if w := a.WitnessLie; w.Announcements == 0 || w.HomesWiped != 0 || w.HomesFollowingLie != 0 {
		t.Errorf("witness-lie: %d announcements, %d homes wiped, %d followed the lie", w.Announcements, w.HomesWiped, w.HomesFollowingLie)
	}
	if v := a.Revoke; v.Homes == 0 || v.HomesRefusing != v.Homes || v.LeftRaftConfigurationMs < 0 {
		t.Errorf("revoke: %d of %d homes refuse the revoked peer; left the configuration after %v ms (-1: not)", v.HomesRefusing, v.Homes, v.LeftRaftConfigurationMs)
	}
	// The honest homes followed plans throughout.
	for _, nb := range rep.Neighborhood {
		if nb.PlansCommitted == 0 || nb.Leader == "" {
			t.Errorf("%s: %d plans committed, leader %q at the end", nb.ID, nb.PlansCommitted, nb.Leader)
		}
	}
	if a.Flood.PlanDeliveryRate == 0 || a.WitnessLie.PlanDeliveryRate == 0 {
		t.Errorf("plans delivered to honest homes: %v during the flood, %v during the witness lie", a.Flood.PlanDeliveryRate, a.WitnessLie.PlanDeliveryRate)
	}
	t.Logf("flood %+v\nliar %+v\nreplay %+v\nwitness-lie %+v\nrevoke %+v\nhomes without a valid plan (max) %d, loop ticks missed %d of %d; errors %q",
		*a.Flood, *a.Liar, *a.Replay, *a.WitnessLie, *a.Revoke, rep.HomesWithoutValidPlanMax, rep.LoopTicksMissed, rep.LoopTicks, rep.Errors)
}
