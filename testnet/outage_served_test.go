package testnet

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// snap is a home's snapshot drawing loadW (household, EV and heat pump
// together) with pvW produced and the battery at batteryW (positive:
// charging): NetW as the sim computes it.
func snap(loadW, pvW, batteryW gridmesh.W) sim.HomeSnapshot {
	return sim.HomeSnapshot{LoadW: loadW, CriticalW: loadW, PVW: pvW, BatteryW: batteryW, NetW: loadW - pvW + batteryW}
}

// Served energy is what the island's sources gave: the share of the
// loads' draw that PV, battery discharge and damping covered.
func TestSuppliedShare(t *testing.T) {
	const step = time.Minute
	for name, tc := range map[string]struct {
		snaps     []sim.HomeSnapshot
		dampingWh gridmesh.Wh
		want      float64
	}{
		"PV carries the load":                {[]sim.HomeSnapshot{snap(1000, 1500, 500)}, 0, 1},
		"battery carries the load":           {[]sim.HomeSnapshot{snap(1000, 0, -1000)}, 0, 1},
		"one home's battery carries another": {[]sim.HomeSnapshot{snap(1000, 0, 0), snap(500, 0, -1500)}, 0, 1},
		"surplus curtailed or charging":      {[]sim.HomeSnapshot{snap(1000, 3000, 0)}, 0, 1},
		"deficit: half supplied":             {[]sim.HomeSnapshot{snap(2000, 0, -1000)}, 0, 0.5},
		// The loop's battery gives 600 W of 1 kW; the inverters' damping
		// gives 300 W over the minute (5 Wh): 90 % is supplied.
		"damping covers part of the deficit": {[]sim.HomeSnapshot{snap(1000, 0, -600)}, 5, 0.9},
		// Empty batteries at night: whatever the loads' relief keeps the
		// feeder up with, nothing supplies them.
		"empty batteries, no PV": {[]sim.HomeSnapshot{snap(800, 0, 0), snap(400, 0, 0)}, 0, 0},
		// Charging from a deficit feeder takes from the loads.
		"a battery charging in a deficit": {[]sim.HomeSnapshot{snap(1000, 1000, 500)}, 0, 0.5},
		"damping charging the batteries":  {[]sim.HomeSnapshot{snap(1000, 0, -1000)}, -5, 0.7},
		"nothing drawn":                   {[]sim.HomeSnapshot{snap(0, 0, 0)}, 0, 1},
		"no homes":                        {nil, 0, 1},
	} {
		t.Run(name, func(t *testing.T) {
			got := binShare(feederFlows(tc.snaps, tc.dampingWh, step))
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("share %v, want %v", got, tc.want)
			}
		})
	}
}

// The share is a bin's: a loop a little short at one sample and a little
// over at the next has served its loads in full.
func TestServedOverBinsNotSamples(t *testing.T) {
	start := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	b := boundRec{startSim: start}
	now := start
	for k := range 60 {
		now = now.Add(time.Minute)
		b.add(now, time.Minute, 600, 0, 0, true)
		batteryW := gridmesh.W(-500) // short at even samples, over at odd ones
		if k%2 == 1 {
			batteryW = -700
		}
		supply, drawn := feederFlows([]sim.HomeSnapshot{snap(600, 0, batteryW)}, 0, time.Minute)
		b.addFlows(now, time.Minute, supply, drawn)
	}
	// An hour dark after it, then an hour with half the load supplied.
	for range 60 {
		now = now.Add(time.Minute)
		b.add(now, time.Minute, 600, 0, 0, false)
	}
	for range 60 {
		now = now.Add(time.Minute)
		b.add(now, time.Minute, 600, 0, 200, true)
		supply, drawn := feederFlows([]sim.HomeSnapshot{snap(800, 0, -400)}, 0, time.Minute)
		b.addFlows(now, time.Minute, supply, drawn)
	}
	crit, non := b.served()
	if want := 600.0 + 0 + 300; math.Abs(crit-want) > 1e-6 {
		t.Errorf("critical served %v Wh, want %v", crit, want)
	}
	if want := 100.0; math.Abs(non-want) > 1e-6 {
		t.Errorf("non-critical served %v Wh, want %v", non, want)
	}
	if want := 1800.0; math.Abs(b.demandedWh-want) > 1e-6 {
		t.Errorf("critical demanded %v Wh, want %v", b.demandedWh, want)
	}
}
