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

// A home whose household load the island plan disconnected is dark for
// its own hours while its feeder is lit, serves none of its loads, and
// its critical load is not the feeder's to carry at a black start.
func TestDisconnectedHomeDarkForItsOwnHours(t *testing.T) {
	o := &outage{}
	h := &home{}
	lit, off := snap(300, 0, 0), snap(0, 0, 0)
	off.CriticalW, off.NonCriticalW, off.CriticalOff = 400, 200, true
	lit.NonCriticalW = 100
	if w := o.account(h, off, time.Hour, false); w != 0 {
		t.Errorf("a disconnected home served %v W of non-critical load", w)
	}
	if w := o.account(h, lit, time.Hour, false); w != 100 {
		t.Errorf("a lit home served %v W of non-critical load, want 100", w)
	}
	if o.darkHours != 1 || o.offHours != 1 {
		t.Errorf("dark %v h, off %v h: want the disconnected home's hour alone", o.darkHours, o.offHours)
	}
	o.account(h, lit, time.Hour, true) // its feeder dark
	if o.darkHours != 2 || o.offHours != 1 {
		t.Errorf("dark %v h, off %v h after an hour of a dark feeder: want 2 and 1", o.darkHours, o.offHours)
	}
	f := &feeder{homes: []*home{h, h}}
	if s := f.measure([]sim.HomeSnapshot{lit, off}); s.criticalW != 300 {
		t.Errorf("the feeder counts %v W of critical load, want the lit home's 300", s.criticalW)
	}
}
