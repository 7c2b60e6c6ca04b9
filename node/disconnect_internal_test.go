package node

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/guard"
)

// disconnectRunner is a loop runner for home "me" steering a simulated
// home's loads through their guard, with no plan yet.
func disconnectRunner(t *testing.T) (*loopRunner, func() (off bool)) {
	t.Helper()
	h := devicetest.NewHome(t)
	lg, err := guard.NewLoads(h.Devices().Loads, guard.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lg.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	loop, err := control.NewLoop(control.LoopConfig{Home: "me", Neighborhood: "nb"})
	if err != nil {
		t.Fatal(err)
	}
	r := &loopRunner{n: &Node{cfg: Config{Home: "me", Neighborhood: "nb"}}, loop: loop, devs: &devices{loads: lg, kinds: map[string]*device{}}}
	return r, func() bool { synctest.Wait(); return h.Snapshot().CriticalOff }
}

// islandPlanFor is a plan in force at now whose setpoint for "me" sheds
// shed.
func islandPlanFor(now time.Time, index uint64, shed gridmesh.ShedFlags) gridmesh.Plan {
	return gridmesh.Plan{
		Version: gridmesh.WireVersion, Neighborhood: "nb", Epoch: gridmesh.Epoch{Term: 1, Index: index},
		IssuedAtMs: now.UnixMilli(), LeaseMs: 3000,
		Setpoints: []gridmesh.Setpoint{{Home: "me", Island: true, PVLimitW: gridmesh.MaxHomePowerW, Shed: shed}},
	}
}

// A home disconnects its household load only while an island plan in
// force says so, and reconnects when the plan lifts it, when the plan's
// lease runs out (on its own, without loads or battery read, or keeping
// what was applied), and when the grid returns.
func TestHomeDisconnectsOnlyUnderAPlan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, off := disconnectRunner(t)
		islanded := &loopSnapshot{MeterOK: true, GridOK: false}
		tick := func(snap *loopSnapshot) { // as the loop runner's step: the loop drops an expired plan first
			r.loop.Step(control.Reading{}, time.Now())
			r.applyIsland(snap)
		}
		offer := func(index uint64, shed gridmesh.ShedFlags) {
			t.Helper()
			if err := r.loop.Offer(islandPlanFor(time.Now(), index, shed), time.Now()); err != nil {
				t.Fatal(err)
			}
			tick(islanded)
		}
		all := gridmesh.ShedEV | gridmesh.ShedHeatPump | gridmesh.ShedOther | gridmesh.ShedCritical
		offer(1, all)
		if !off() || r.island.shed != all {
			t.Fatalf("under a plan that disconnects: off %v, applied %#x", off(), r.island.shed)
		}
		offer(2, gridmesh.ShedOther)
		if off() || r.island.shed != gridmesh.ShedOther {
			t.Fatalf("under a plan that lights the home: off %v, applied %#x", off(), r.island.shed)
		}
		offer(3, all)
		time.Sleep(4 * time.Second) // the lease runs out; no battery read, so no island of its own
		tick(islanded)
		if off() || r.island.shed&gridmesh.ShedCritical != 0 {
			t.Fatalf("plan expired: off %v, applied %#x", off(), r.island.shed)
		}
		offer(4, all)
		if !off() {
			t.Fatal("a new plan that disconnects: still on")
		}
		tick(&loopSnapshot{MeterOK: true, GridOK: true}) // the grid back, the plan in force: the plan still rules
		if !off() {
			t.Fatal("the grid back under a plan that disconnects: on")
		}
		time.Sleep(4 * time.Second)
		tick(&loopSnapshot{MeterOK: true, GridOK: true})
		if off() {
			t.Fatal("grid back, plan expired: still off")
		}
	})
}
