package control

import (
	"cmp"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The tertiary layer's rules as a neighborhood's leader follows them: what
// a home keeps of its region's gossip (NewerSignal, NewerAggregate,
// KeepSignal, KeepAggregate), what its neighborhood does for the signals
// in force (DecideRegion, RegionalTarget), when a signal starts or ends
// (RegionBoundaries), and what it offers the region (NeighborhoodAggregate,
// AggregateDue). Times are the wall clock's: signals and aggregates carry
// Unix times that every home and the operator must agree on.

// Region timings, and why.
const (
	// AggregatePeriod: a leader's flexibility changes with its batteries'
	// state of charge, slowly; every 5 s keeps every view a few seconds
	// fresh at one message per neighborhood per 5 s on a topic every home
	// of the region receives (mesh refuses more than one per 2 s).
	AggregatePeriod = 5 * time.Second
	// AggregateForS: three periods, so one or two lost aggregates do not
	// drop a neighborhood from the split, and a dead leader's figures stop
	// counting within 15 s.
	AggregateForS = 15
	// AllocationPeriod: leaders pass Allocate a now truncated to it, so
	// that they agree on which aggregates are fresh at the edges. It is
	// shorter than the aggregates' life by far, and an aggregate published
	// now is never more than gridmesh.AggregateSkew ahead of it.
	AllocationPeriod = 5 * time.Second
	// SignalKeepAfterEnd: an ended signal stays in a view this long, so
	// the targets' Seq (RegionalSeq) does not step back when it goes.
	SignalKeepAfterEnd = 10 * time.Minute
)

// RegionalSeq is what a signal adds to the Seq of the targets a leader
// dispatches while it is known: 2·Seq once it has started, 2·Seq+1 once
// it has ended. A plan's Target.Seq is its neighborhood target's Seq plus
// the largest RegionalSeq of the signals its leader knows, so that it
// grows whenever a signal starts, steps or ends (a testnet times signal
// to setpoint by it).
func RegionalSeq(signalSeq uint64, ended bool) uint64 {
	if ended {
		return 2*signalSeq + 1
	}
	return 2 * signalSeq
}

// RegionSignal is one step of an operator signal as a home holds it: the
// signal and when the step arrived.
type RegionSignal struct {
	Signal gridmesh.Signal
	At     time.Time
}

// RegionView is a home's view of its region at one instant: the newest
// step of each signal and the newest aggregate of each neighborhood.
type RegionView struct {
	Signals    []RegionSignal
	Aggregates []gridmesh.Aggregate
}

// NewerSignal reports whether s replaces old, a step of the same signal:
// only a higher Seq does.
func NewerSignal(s, old gridmesh.Signal) bool { return s.Seq > old.Seq }

// NewerAggregate reports whether a replaces old, the same neighborhood's:
// a later epoch does, or the same epoch with a later AtMs.
func NewerAggregate(a, old gridmesh.Aggregate) bool {
	return a.Epoch.After(old.Epoch) || a.Epoch == old.Epoch && a.AtMs > old.AtMs
}

// KeepSignal reports whether a view keeps s at now: until
// SignalKeepAfterEnd after it ends.
func KeepSignal(s gridmesh.Signal, now time.Time) bool {
	return now.Sub(s.End()) <= SignalKeepAfterEnd
}

// KeepAggregate reports whether a view keeps a at now: while it is Fresh.
func KeepAggregate(a gridmesh.Aggregate, now time.Time) bool { return a.Fresh(now) }

// SignalDecision is one signal in force and a neighborhood's part of it.
type SignalDecision struct {
	Signal gridmesh.Signal
	// Value is the regulation value followed now (1 for a cut, 0 once a
	// regulation stream stopped).
	Value float64
	// Share is the neighborhood's share.
	Share Share
	// OffsetW is Value × Share.W: how much less the neighborhood imports
	// for this signal.
	OffsetW gridmesh.W
	// Allocation is the whole split.
	Allocation Allocation
}

// RegionDecision is what a view asks of one neighborhood at one time.
type RegionDecision struct {
	// OffsetW is how much less the neighborhood is to import: the sum of
	// its cut shares and of value × share of its regulation shares.
	OffsetW gridmesh.W
	// Seq is the largest RegionalSeq of the signals started.
	Seq uint64
	// Signals are the signals in force, by ID, with the split of each.
	Signals []SignalDecision
	// Aggregates is how many neighborhoods have a fresh aggregate.
	Aggregates int
}

// DecideRegion computes nbhd's part of every signal in force at now from
// the view, so that every leader with the same view decides the same
// split. Aggregates and signals a view would not keep at now (KeepSignal,
// KeepAggregate) are left out; of several steps of one signal the newest
// counts, of several aggregates of one neighborhood the newest. The split
// is Allocate's at now truncated to AllocationPeriod; a regulation step
// is followed gridmesh.RegulationStepHoldMs after it arrived at most,
// then the neighborhood goes back to its baseline (value 0).
func DecideRegion(v RegionView, nbhd gridmesh.NeighborhoodID, now time.Time) RegionDecision {
	aggs := freshAggregates(v.Aggregates, now)
	d := RegionDecision{Aggregates: len(aggs)}
	at := now.Truncate(AllocationPeriod)
	for _, st := range newestSignals(v.Signals, now) {
		s := st.Signal
		if now.Before(s.Start()) || s.Kind == gridmesh.SignalOutageWarning {
			continue // not started, or asks no power (OutageWarned reads it)
		}
		ended := !now.Before(s.End())
		d.Seq = max(d.Seq, RegionalSeq(s.Seq, ended))
		if ended {
			continue
		}
		alloc, err := Allocate(s, aggs, at)
		if err != nil {
			continue // cannot happen for a verified signal in force
		}
		sd := SignalDecision{Signal: s, Value: regulationValue(st, now), Allocation: alloc}
		sd.Share, _ = alloc.ShareFor(nbhd)
		sd.OffsetW = gridmesh.W(sd.Value) * sd.Share.W
		d.OffsetW += sd.OffsetW
		d.Signals = append(d.Signals, sd)
	}
	return d
}

// regulationValue is the value a neighborhood follows of st at now: 1 for
// a cut; a regulation step's value until RegulationStepHoldMs after it
// arrived, then 0 (the operator's stream stopped: back to baseline).
func regulationValue(st RegionSignal, now time.Time) float64 {
	if st.Signal.Kind != gridmesh.SignalRegulation {
		return 1
	}
	if now.Sub(st.At) > gridmesh.RegulationStepHoldMs*time.Millisecond {
		return 0
	}
	return st.Signal.Value
}

// freshAggregates is the newest aggregate of each neighborhood among
// those a view keeps at now, sorted by neighborhood.
func freshAggregates(aggs []gridmesh.Aggregate, now time.Time) []gridmesh.Aggregate {
	out := make([]gridmesh.Aggregate, 0, len(aggs))
	for _, a := range aggs {
		if KeepAggregate(a, now) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, compareAggregates)
	return slices.CompactFunc(out, func(a, b gridmesh.Aggregate) bool { return a.Neighborhood == b.Neighborhood })
}

// newestSignals is the newest step of each signal a view keeps at now,
// sorted by ID.
func newestSignals(sigs []RegionSignal, now time.Time) []RegionSignal {
	out := make([]RegionSignal, 0, len(sigs))
	for _, s := range sigs {
		if KeepSignal(s.Signal, now) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b RegionSignal) int {
		return cmp.Or(cmp.Compare(a.Signal.ID, b.Signal.ID), -cmp.Compare(a.Signal.Seq, b.Signal.Seq), a.At.Compare(b.At))
	})
	return slices.CompactFunc(out, func(a, b RegionSignal) bool { return a.Signal.ID == b.Signal.ID })
}

// RegionalTarget is the target a leader dispatches: its neighborhood's own
// target t less its part of every regional signal in force (d.OffsetW),
// its Seq raised by the largest RegionalSeq a plan has carried (seqFloor,
// or d.Seq when larger). It returns the new floor: Seq never steps back,
// even when an ended signal leaves the view.
func RegionalTarget(t gridmesh.Target, d RegionDecision, seqFloor uint64) (gridmesh.Target, uint64) {
	seqFloor = max(seqFloor, d.Seq)
	t.ImportW -= d.OffsetW
	t.Seq += seqFloor
	return t, seqFloor
}

// RegionBoundaries reports the next start or end of a signal after now
// (now + maxWait at the latest), the IDs of the signals in force at now,
// sorted, and whether they differ from lastInForce (the last call's).
func RegionBoundaries(sigs []RegionSignal, now time.Time, maxWait time.Duration, lastInForce []string) (next time.Time, inForce []string, crossed bool) {
	next = now.Add(maxWait)
	for _, st := range sigs {
		start, end := st.Signal.Start(), st.Signal.End()
		if !now.Before(start) && now.Before(end) {
			inForce = append(inForce, st.Signal.ID)
		}
		for _, b := range []time.Time{start, end} {
			if b.After(now) && b.Before(next) {
				next = b
			}
		}
	}
	slices.Sort(inForce)
	inForce = slices.Compact(inForce)
	return next, inForce, !slices.Equal(inForce, lastInForce)
}

// AggregateDue reports whether a leader that last published its aggregate
// at last (zero: never) publishes again at now: every AggregatePeriod.
func AggregateDue(last, now time.Time) bool {
	return last.IsZero() || now.Sub(last) >= AggregatePeriod
}

// NeighborhoodAggregate is what a neighborhood offers its region at now,
// from its homes heard from: up is how much more their batteries can
// discharge, down how much more they can charge, with the energy behind
// each. The figures are measured around the neighborhood's baseline, not
// around what it does for the region now: appliedW, the offset its last
// plan carried (RegionDecision.OffsetW), is added back, so a neighborhood
// busy with its share does not look less able to carry it (which would
// move the split at every aggregate). ok is false without homes or when
// the result does not validate.
func NeighborhoodAggregate(nbhd gridmesh.NeighborhoodID, epoch gridmesh.Epoch, now time.Time, homes []HomeState, appliedW gridmesh.W) (gridmesh.Aggregate, bool) {
	if len(homes) == 0 {
		return gridmesh.Aggregate{}, false
	}
	var up, down gridmesh.W
	var upWh, downWh gridmesh.Wh
	for _, h := range homes {
		f := h.Battery
		up += max(0, f.PowerW-f.MinW)
		down += max(0, f.MaxW-f.PowerW)
		upWh += f.DischargeWh
		downWh += f.ChargeWh
	}
	clampW := func(w gridmesh.W) gridmesh.W { return min(max(w, 0), gridmesh.MaxNeighborhoodPowerW) }
	clampWh := func(e gridmesh.Wh) gridmesh.Wh { return min(max(e, 0), gridmesh.MaxNeighborhoodEnergyWh) }
	a := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: nbhd, Epoch: epoch,
		AtMs: now.UnixMilli(), ForS: AggregateForS,
		UpW: clampW(up + appliedW), DownW: clampW(down - appliedW),
		UpWh: clampWh(upWh), DownWh: clampWh(downWh),
	}
	return a, a.Validate() == nil
}
