package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
)

// The tertiary layer's runner: every home joins its region's topic and
// keeps a view of the operator's signals and the neighborhoods'
// aggregates; the leader of each neighborhood publishes its aggregate and,
// while a signal is in force, adds its neighborhood's share of it to the
// target it dispatches (regionalTarget). Every leader computes the split
// with control.Allocate from the same view, so no one coordinates it.
//
// Times here are the wall clock (Deps.Now): signals and aggregates carry
// Unix times that every home and the operator must agree on.

// Region timings, and why.
const (
	// aggregatePeriod: a leader's flexibility changes with its batteries'
	// state of charge, slowly; every 5 s keeps every view a few seconds
	// fresh at one message per neighborhood per 5 s on a topic every home
	// of the region receives (mesh refuses more than one per 2 s).
	aggregatePeriod = 5 * time.Second
	// aggregateForS: three periods, so one or two lost aggregates do not
	// drop a neighborhood from the split, and a dead leader's figures
	// stop counting within 15 s.
	aggregateForS = 15
	// allocationPeriod: leaders pass control.Allocate a now truncated to
	// it, so that they agree on which aggregates are fresh at the edges.
	// It is shorter than the aggregates' life by far, and an aggregate
	// published now is never more than gridmesh.AggregateSkew ahead of it.
	allocationPeriod = 5 * time.Second
	// regionWakePeriod: how often a leader checks whether a signal has
	// started or ended, to re-plan at once rather than at the next plan
	// period.
	regionWakePeriod = 250 * time.Millisecond
	// signalKeepAfterEnd: an ended signal stays in the view this long, so
	// the targets' Seq (RegionalSeq) does not step back when it goes.
	signalKeepAfterEnd = 10 * time.Minute
	// maxViewedSignals bounds the signals a home keeps (mesh bounds the
	// streams it accepts the same way); past it, new IDs are dropped.
	maxViewedSignals = 1024
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

// regionState is a home's view of its region. handle is set once the
// region is joined; the rest is guarded by mu.
type regionState struct {
	handle atomic.Pointer[mesh.Region]

	mu      sync.Mutex
	aggs    map[gridmesh.NeighborhoodID]gridmesh.Aggregate // the newest per neighborhood
	streams map[string]regionStream                        // the newest step per signal ID
	// seqFloor is the largest RegionalSeq a plan carried: Seq never steps
	// back, even when an ended signal leaves the view.
	seqFloor uint64
	// appliedW is the offset the leader's last plan carried: how much
	// less the neighborhood imports for its region.
	appliedW gridmesh.W
	// inForce names the signals in force when boundaries last looked.
	inForce string
}

type regionStream struct {
	sig gridmesh.Signal
	at  time.Time // when its newest step arrived
}

// putSignal keeps s if it is the newest step of its ID. It reports
// whether it was kept.
func (rs *regionState) putSignal(s gridmesh.Signal, now time.Time) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.streams == nil {
		rs.streams = make(map[string]regionStream)
	}
	old, ok := rs.streams[s.ID]
	if ok && s.Seq <= old.sig.Seq {
		return false
	}
	if !ok && len(rs.streams) >= maxViewedSignals {
		rs.pruneLocked(now)
		if len(rs.streams) >= maxViewedSignals {
			return false
		}
	}
	rs.streams[s.ID] = regionStream{sig: s, at: now}
	return true
}

// putAggregate keeps a if it is newer (epoch, then AtMs) than the one
// held for its neighborhood.
func (rs *regionState) putAggregate(a gridmesh.Aggregate) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.aggs == nil {
		rs.aggs = make(map[gridmesh.NeighborhoodID]gridmesh.Aggregate)
	}
	if old, ok := rs.aggs[a.Neighborhood]; ok && (old.Epoch.After(a.Epoch) || old.Epoch == a.Epoch && old.AtMs >= a.AtMs) {
		return
	}
	rs.aggs[a.Neighborhood] = a
}

// pruneLocked forgets stale aggregates and long-ended signals.
func (rs *regionState) pruneLocked(now time.Time) {
	for id, a := range rs.aggs {
		if !a.Fresh(now) {
			delete(rs.aggs, id)
		}
	}
	for id, st := range rs.streams {
		if now.Sub(st.sig.End()) > signalKeepAfterEnd {
			delete(rs.streams, id)
		}
	}
}

// regionDecision is what the view asks of one neighborhood at one time.
type regionDecision struct {
	// OffsetW is how much less the neighborhood is to import: the sum of
	// its cut shares and of value × share of its regulation shares.
	OffsetW gridmesh.W
	// Seq is the largest RegionalSeq of the signals started.
	Seq uint64
	// Signals are the signals in force, by ID, with the split of each.
	Signals []RegionSignalStatus
	// Aggregates is how many neighborhoods have a fresh aggregate.
	Aggregates int
}

// decide computes nbhd's part of every signal in force at now from the
// view: a pure function of the view, nbhd and now, so every leader with
// the same view decides the same split.
func (rs *regionState) decide(nbhd gridmesh.NeighborhoodID, now time.Time) regionDecision {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.pruneLocked(now)
	aggs := make([]gridmesh.Aggregate, 0, len(rs.aggs))
	for _, a := range rs.aggs {
		aggs = append(aggs, a)
	}
	ids := make([]string, 0, len(rs.streams))
	for id := range rs.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	d := regionDecision{Aggregates: len(aggs)}
	at := now.Truncate(allocationPeriod)
	for _, id := range ids {
		st := rs.streams[id]
		s := st.sig
		if now.Before(s.Start()) {
			continue
		}
		ended := !now.Before(s.End())
		d.Seq = max(d.Seq, RegionalSeq(s.Seq, ended))
		if ended {
			continue
		}
		alloc, err := control.Allocate(s, aggs, at)
		if err != nil {
			continue // cannot happen for a verified signal in force
		}
		share, _ := alloc.ShareFor(nbhd)
		value := 1.0
		if s.Kind == gridmesh.SignalRegulation {
			value = s.Value
			if now.Sub(st.at) > gridmesh.RegulationStepHoldMs*time.Millisecond {
				value = 0 // the operator's stream stopped: back to baseline
			}
		}
		offset := gridmesh.W(value) * share.W
		d.OffsetW += offset
		ss := RegionSignalStatus{
			ID: s.ID, Kind: s.Kind.String(), Seq: s.Seq, StartMs: s.StartMs, EndMs: s.EndMs,
			RequestW: s.AmountW, Value: value, ShareW: share.W, CapacityW: share.CapacityW, OffsetW: offset,
			AllocatedW: alloc.AllocatedW, ShortfallW: alloc.ShortfallW,
		}
		for _, sh := range alloc.Shares {
			ss.Shares = append(ss.Shares, RegionShare{Neighborhood: sh.Neighborhood, CapacityW: sh.CapacityW, W: sh.W})
		}
		d.Signals = append(d.Signals, ss)
	}
	return d
}

// regionalTarget is the target planOnce dispatches: the neighborhood's
// own target minus its share of every regional signal in force, its Seq
// raised by RegionalSeq. The leader calls it once per plan.
func (n *Node) regionalTarget(t gridmesh.Target, now time.Time) gridmesh.Target {
	d := n.region.decide(n.cfg.Neighborhood, now)
	rs := &n.region
	rs.mu.Lock()
	rs.seqFloor = max(rs.seqFloor, d.Seq)
	rs.appliedW = d.OffsetW
	seq := rs.seqFloor
	rs.mu.Unlock()
	t.ImportW -= d.OffsetW
	t.Seq += seq
	return t
}

// runRegion joins the region and runs its receiver, the aggregate
// publisher and the signal-boundary waker until ctx ends.
func (n *Node) runRegion(ctx context.Context, table *telemetryTable) error {
	r, err := n.mesh.JoinRegion()
	if err != nil {
		return fmt.Errorf("region: %w", err)
	}
	defer r.Close()
	n.region.handle.Store(r) // kept after Close: Status still reports its counters
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return n.receiveRegion(ctx, r) })
	eg.Go(func() error { return n.publishAggregates(ctx, r, table) })
	eg.Go(func() error { return n.wakeOnSignalBoundaries(ctx) })
	return eg.Wait()
}

// receiveRegion fills the view from the region topic. A new signal step
// wakes the dispatcher, so a leader follows it at once.
func (n *Node) receiveRegion(ctx context.Context, r *mesh.Region) error {
	for {
		msg, _, err := r.Next(ctx)
		if err != nil {
			return err
		}
		switch {
		case msg.Signal != nil:
			if n.region.putSignal(*msg.Signal, n.now()) {
				n.wakeDispatcher()
			}
		case msg.Aggregate != nil:
			n.region.putAggregate(*msg.Aggregate)
		}
	}
}

// publishAggregates sends this neighborhood's aggregate every
// aggregatePeriod while this home leads, the first as soon as it leads
// with telemetry at hand.
func (n *Node) publishAggregates(ctx context.Context, r *mesh.Region, table *telemetryTable) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		now := n.now()
		if !n.group.IsLeader() || !last.IsZero() && now.Sub(last) < aggregatePeriod {
			continue
		}
		agg, ok := n.aggregate(table, now)
		if !ok {
			continue
		}
		if err := r.PublishAggregate(ctx, agg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n.stats.publishErrors.Add(1)
			n.log.Debug("publish aggregate", "err", err)
			continue
		}
		last = now
	}
}

// aggregate sums the flexibility of the homes heard from within
// TelemetryMaxAge: up is how much more their batteries can discharge,
// down how much more they can charge, with the energy behind each. The
// figures are measured around the neighborhood's baseline, not around
// what it does for the region now: the offset the last plan carried is
// added back, so a neighborhood busy with its share does not look less
// able to carry it (which would move the split at every aggregate).
func (n *Node) aggregate(table *telemetryTable, now time.Time) (gridmesh.Aggregate, bool) {
	homes := table.fresh(now, n.cfg.TelemetryMaxAge)
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
	n.region.mu.Lock()
	off := n.region.appliedW
	n.region.mu.Unlock()
	clampW := func(w gridmesh.W) gridmesh.W { return min(max(w, 0), gridmesh.MaxNeighborhoodPowerW) }
	clampWh := func(e gridmesh.Wh) gridmesh.Wh { return min(max(e, 0), gridmesh.MaxNeighborhoodEnergyWh) }
	_, term := n.group.Leader()
	latest, _, _ := n.group.Latest()
	a := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: n.cfg.Neighborhood,
		Epoch: gridmesh.Epoch{Term: term, Index: latest.Index},
		AtMs:  now.UnixMilli(), ForS: aggregateForS,
		UpW: clampW(up + off), DownW: clampW(down - off),
		UpWh: clampWh(upWh), DownWh: clampWh(downWh),
	}
	return a, a.Validate() == nil
}

// wakeOnSignalBoundaries wakes the dispatcher when a signal starts or
// ends, so a leader re-plans then rather than at its next period. It
// sleeps until the next boundary it knows of, or regionWakePeriod at most
// (a signal may arrive meanwhile).
func (n *Node) wakeOnSignalBoundaries(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		now := n.now()
		next, crossed := n.region.boundaries(now)
		if crossed {
			n.wakeDispatcher()
		}
		timer.Reset(min(max(next.Sub(now), time.Millisecond), regionWakePeriod))
	}
}

// boundaries reports the next start or end of a signal after now (or
// now + regionWakePeriod), and whether the set of signals in force
// changed since the last call.
func (rs *regionState) boundaries(now time.Time) (next time.Time, crossed bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	next = now.Add(regionWakePeriod)
	var ids []string
	for id, st := range rs.streams {
		start, end := st.sig.Start(), st.sig.End()
		if !now.Before(start) && now.Before(end) {
			ids = append(ids, id)
		}
		for _, b := range []time.Time{start, end} {
			if b.After(now) && b.Before(next) {
				next = b
			}
		}
	}
	slices.Sort(ids)
	key := strings.Join(ids, "\x00")
	crossed, rs.inForce = key != rs.inForce, key
	return next, crossed
}

// wakeDispatcher asks the dispatcher to plan now (coalescing with a
// wake-up already pending).
func (n *Node) wakeDispatcher() {
	select {
	case n.targetCh <- struct{}{}:
	default:
	}
}

// ErrRegionNotJoined is returned by PublishSignal before the home has
// joined its region (before Ready, or while its network is down).
var ErrRegionNotJoined = errors.New("node: region not joined")

// PublishSignal relays a signed operator signal to the region through
// this home (a gateway for an operator with no host of its own, and the
// testnet's operator). The home's own validator judges it first.
func (n *Node) PublishSignal(ctx context.Context, s gridmesh.Signal) error {
	r := n.region.handle.Load()
	if r == nil {
		return ErrRegionNotJoined
	}
	return r.PublishSignal(ctx, s)
}

// RegionStatus is the home's view of its region, in Status.
type RegionStatus struct {
	Name string `json:"name"`
	// Signals are the signals in force, each with its split as this
	// home's view gives it.
	Signals []RegionSignalStatus `json:"signals"`
	// ShareW is this neighborhood's share of the signals in force (the
	// sum over them), OffsetW the import reduction it makes of them.
	ShareW  gridmesh.W `json:"share_w"`
	OffsetW gridmesh.W `json:"offset_w"`
	// Aggregates is how many neighborhoods have a fresh aggregate here.
	Aggregates int `json:"aggregates"`
	// Rejections are the region messages this home refused, by reason
	// (mesh.ReasonSignal..., mesh.ReasonAggregate...).
	Rejections map[string]uint64 `json:"rejections"`
}

// RegionSignalStatus is one signal in force and its split.
type RegionSignalStatus struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"`
	Seq      uint64     `json:"seq"`
	StartMs  int64      `json:"start_ms"`
	EndMs    int64      `json:"end_ms"`
	RequestW gridmesh.W `json:"request_w"`
	// Value is the regulation value followed now (1 for a cut).
	Value      float64       `json:"value"`
	ShareW     gridmesh.W    `json:"share_w"`
	CapacityW  gridmesh.W    `json:"capacity_w"`
	OffsetW    gridmesh.W    `json:"offset_w"`
	AllocatedW gridmesh.W    `json:"allocated_w"`
	ShortfallW gridmesh.W    `json:"shortfall_w"`
	Shares     []RegionShare `json:"shares"`
}

// RegionShare is one neighborhood's part of a signal.
type RegionShare struct {
	Neighborhood gridmesh.NeighborhoodID `json:"neighborhood"`
	CapacityW    gridmesh.W              `json:"capacity_w"`
	W            gridmesh.W              `json:"w"`
}

// regionStatus returns the region part of Status; nil before the region
// is joined.
func (n *Node) regionStatus() *RegionStatus {
	r := n.region.handle.Load()
	if r == nil {
		return nil
	}
	d := n.region.decide(n.cfg.Neighborhood, n.now())
	s := &RegionStatus{
		Name: r.Name(), Signals: d.Signals, OffsetW: d.OffsetW,
		Aggregates: d.Aggregates, Rejections: r.Rejections(),
	}
	for _, sig := range d.Signals {
		s.ShareW += sig.ShareW
	}
	return s
}
