package control

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// PowerSample is what a home's meter and devices showed at one instant,
// for energy accounting. A figure counts only when its Has flag is set:
// an absent or unavailable device is not guessed at.
type PowerSample struct {
	// At is the time of the home's physical world, in which its devices'
	// powers turn into energy; Wall is the runner's own clock, by which
	// EnergyMaxGap is judged. They are the same clock on a real home.
	At, Wall time.Time
	// GridW is the net import at the meter (negative: export).
	GridW   gridmesh.W
	HasGrid bool
	// BatteryW is the battery's power (positive: charging).
	BatteryW   gridmesh.W
	HasBattery bool
	// PVW is the PV production.
	PVW   gridmesh.W
	HasPV bool
	// ServedW is the household load served, ShedW the non-critical load
	// disconnected.
	ServedW, ShedW gridmesh.W
	HasLoads       bool
}

// LoadSample returns the served and shed power of a household load as
// the device reports it: the critical load is always served, the
// non-critical load unless the device says it is disconnected (a shed
// commanded but not yet applied is still served).
func LoadSample(l gridmesh.LoadState) (served, shed gridmesh.W) {
	if l.Shed {
		return l.CriticalW, l.NonCriticalW
	}
	return l.CriticalW + l.NonCriticalW, 0
}

// EnergyJ are energies in joules, by flow. Every field only grows.
type EnergyJ struct {
	GridImport       float64 `json:"grid_import_joules"`
	GridExport       float64 `json:"grid_export_joules"`
	BatteryCharge    float64 `json:"battery_charge_joules"`
	BatteryDischarge float64 `json:"battery_discharge_joules"`
	PVProduction     float64 `json:"pv_production_joules"`
	LoadServed       float64 `json:"load_served_joules"`
	LoadShed         float64 `json:"load_shed_joules"`
}

// Add returns e plus d, field by field.
func (e EnergyJ) Add(d EnergyJ) EnergyJ {
	return EnergyJ{
		GridImport:       e.GridImport + d.GridImport,
		GridExport:       e.GridExport + d.GridExport,
		BatteryCharge:    e.BatteryCharge + d.BatteryCharge,
		BatteryDischarge: e.BatteryDischarge + d.BatteryDischarge,
		PVProduction:     e.PVProduction + d.PVProduction,
		LoadServed:       e.LoadServed + d.LoadServed,
		LoadShed:         e.LoadShed + d.LoadShed,
	}
}

// Fields returns e's fields in declaration order, for checks over all of
// them.
func (e EnergyJ) Fields() []float64 {
	return []float64{e.GridImport, e.GridExport, e.BatteryCharge, e.BatteryDischarge, e.PVProduction, e.LoadServed, e.LoadShed}
}

// Valid reports whether every field is finite and not negative: what a
// total read back from storage must be.
func (e EnergyJ) Valid() bool {
	for _, f := range e.Fields() {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return false
		}
	}
	return true
}

// EnergyMaxGap is the longest interval, by the runner's clock, between
// two samples that Energy integrates. Why 10 s: the loop samples every
// 100 ms, and a tick late by a few hundred ms on a busy box is still a
// straight line between two readings; samples seconds apart mean the
// process was stopped or starved, and a line across that gap is a guess.
// The gap is left out (the caller counts it) rather than guessed.
const EnergyMaxGap = 10 * time.Second

// Energy returns the energy that flowed between samples prev and cur, by
// the trapezoid rule: each power is taken to change linearly from one
// sample to the next, and a flow that changes sign between them (import
// turning to export, charge to discharge) is split where the line
// crosses zero. A figure missing from either sample contributes nothing.
// ok is false, and the energy zero, when the samples are not in order or
// further apart than maxGap on the runner's clock.
func Energy(prev, cur PowerSample, maxGap time.Duration) (e EnergyJ, ok bool) {
	dt := cur.At.Sub(prev.At).Seconds()
	wall := cur.Wall.Sub(prev.Wall)
	if dt <= 0 || wall <= 0 || wall > maxGap {
		return EnergyJ{}, false
	}
	if prev.HasGrid && cur.HasGrid {
		e.GridImport = positivePart(prev.GridW, cur.GridW, dt)
		e.GridExport = positivePart(-prev.GridW, -cur.GridW, dt)
	}
	if prev.HasBattery && cur.HasBattery {
		e.BatteryCharge = positivePart(prev.BatteryW, cur.BatteryW, dt)
		e.BatteryDischarge = positivePart(-prev.BatteryW, -cur.BatteryW, dt)
	}
	if prev.HasPV && cur.HasPV {
		e.PVProduction = positivePart(prev.PVW, cur.PVW, dt)
	}
	if prev.HasLoads && cur.HasLoads {
		e.LoadServed = positivePart(prev.ServedW, cur.ServedW, dt)
		e.LoadShed = positivePart(prev.ShedW, cur.ShedW, dt)
	}
	return e, true
}

// positivePart integrates max(p, 0) over dt seconds for p going linearly
// from a to b. A figure that is not finite contributes nothing.
func positivePart(a, b gridmesh.W, dt float64) float64 {
	if !a.Finite() || !b.Finite() {
		return 0
	}
	x, y := float64(a), float64(b)
	switch {
	case x >= 0 && y >= 0:
		return (x + y) / 2 * dt
	case x <= 0 && y <= 0:
		return 0
	case x > 0: // x > 0 > y: a triangle from x down to the crossing
		return x * x / (x - y) / 2 * dt
	default: // x < 0 < y: a triangle from the crossing up to y
		return y * y / (y - x) / 2 * dt
	}
}
