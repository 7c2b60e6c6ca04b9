package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
)

// The tertiary layer's runner: every home joins its region's topic and
// keeps a view of the operator's signals; the leader of each neighborhood
// also joins the aggregates topic while it leads (leaders only: a home
// that only follows plans never pays for the region's aggregates), keeps
// the neighborhoods' aggregates in its view, publishes its own and, while
// a signal is in force, adds its neighborhood's share of it to the target
// it dispatches (regionalTarget). A home that starts leading holds the
// regional offset its predecessor's last plan carried until its view is
// warm (regionWarmUp), then splits from its own view. Every leader computes the split
// with control.DecideRegion from the same view, so no one coordinates it;
// every rule (what the view keeps, the split, the targets' Seq, when a
// signal starts or ends, the aggregate) is control's (control/region.go).
//
// Times here are the wall clock (Deps.Now): signals and aggregates carry
// Unix times that every home and the operator must agree on.

// The runner's own bounds, and why.
const (
	// regionWakePeriod: how often a leader checks whether a signal has
	// started or ended, to re-plan at once rather than at the next plan
	// period.
	regionWakePeriod = 250 * time.Millisecond
	// maxViewedSignals bounds the signals a home keeps (mesh bounds the
	// streams it accepts the same way); past it, new IDs are dropped.
	maxViewedSignals = 1024
	// regionWarmUp: how long after joining the aggregates topic a new
	// leader's view holds every live neighborhood's aggregate, at most
	// (with admission on the region's neighborhoods are known, and a view
	// holding an aggregate of each is warm at once). Leaders publish
	// every control.AggregatePeriod (checked every regionLeadCheck) and
	// gossip delivers within a second even on a loaded machine; 2 s
	// leave room for both. Waiting costs nothing while no signal is in force;
	// during one, the new leader holds its predecessor's offset meanwhile
	// (heldOffset). Asking a peer for its view instead would need every
	// aggregate's gossipsub signature carried along to be checked again.
	regionWarmUp = control.AggregatePeriod + 2*time.Second
	// regionFindPeriod: how often a leader with fewer than
	// regionLeaderPeers aggregate peers asks its connected peers for more
	// leaders (mesh.Aggregates.KeepFinding, backing off while it finds
	// none), asking regionAsk peers and dialing up to regionDial of the
	// leaders they name. The target is gossipsub's mesh degree (6); a
	// walk of a few rounds finds them.
	regionFindPeriod = 2 * time.Second
	// regionLeadCheck: how often the aggregate runner looks whether this
	// home leads, whether it found new aggregate peers and whether its
	// aggregate is due: a read of Raft's state and of gossipsub's peer
	// list, so four times a second costs nothing and a new leader is on
	// the aggregates topic within a quarter second.
	regionLeadCheck = 250 * time.Millisecond
	// regionRepublishAfter: the least time between two aggregates of a
	// leader that found new aggregate peers: the validators'
	// mesh.DefaultAggregateMinInterval, which they judge on the
	// aggregates' signed stamps, so a first copy that came late through
	// gossip does not make the next look too soon.
	regionRepublishAfter = mesh.DefaultAggregateMinInterval
	regionLeaderPeers    = 6
	regionAsk            = 8
	regionDial           = 3
)

// RegionalSeq is control.RegionalSeq: what a signal adds to the Seq of the
// targets a leader dispatches while it is known.
func RegionalSeq(signalSeq uint64, ended bool) uint64 {
	return control.RegionalSeq(signalSeq, ended)
}

// regionState is a home's view of its region. Who owns what:
//   - handle is set once by runRegion and read by anyone (atomic).
//   - The view (aggs, streams) is guarded by mu. The region receiver
//     writes it (putSignal, putAggregate); everyone else reads it only
//     through snapshot, which prunes and copies it under mu once, so every
//     decision (the planner's, the boundary waker's, Status's) runs on an
//     immutable copy outside the lock.
//   - seqFloor belongs to the dispatch goroutine alone (regionalTarget).
//   - appliedW is written by the dispatch goroutine and read by the
//     aggregate publisher: an atomic.
type regionState struct {
	handle atomic.Pointer[mesh.Region]
	// leading is the aggregates topic's handle while this home leads
	// (nil otherwise), joinedAt when it was joined (Unix ns; 0: not
	// joined): both written by the aggregate runner, read by anyone.
	leading  atomic.Pointer[mesh.Aggregates]
	joinedAt atomic.Int64

	mu      sync.Mutex
	aggs    map[gridmesh.NeighborhoodID]gridmesh.Aggregate // the newest per neighborhood
	streams map[string]control.RegionSignal                // the newest step per signal ID

	// seqFloor is the largest RegionalSeq a plan carried: Seq never steps
	// back, even when an ended signal leaves the view.
	seqFloor uint64
	// appliedW holds the bits (math.Float64bits) of the offset the
	// leader's last plan carried: how much less the neighborhood imports
	// for its region.
	appliedW atomic.Uint64
}

// putSignal keeps s if it is the newest step of its ID
// (control.NewerSignal). It reports whether it was kept.
func (rs *regionState) putSignal(s gridmesh.Signal, now time.Time) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.streams == nil {
		rs.streams = make(map[string]control.RegionSignal)
	}
	old, ok := rs.streams[s.ID]
	if ok && !control.NewerSignal(s, old.Signal) {
		return false
	}
	if !ok && len(rs.streams) >= maxViewedSignals {
		rs.pruneLocked(now)
		if len(rs.streams) >= maxViewedSignals {
			return false
		}
	}
	rs.streams[s.ID] = control.RegionSignal{Signal: s, At: now}
	return true
}

// putAggregate keeps a if it is newer than the one held for its
// neighborhood (control.NewerAggregate).
func (rs *regionState) putAggregate(a gridmesh.Aggregate) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.aggs == nil {
		rs.aggs = make(map[gridmesh.NeighborhoodID]gridmesh.Aggregate)
	}
	if old, ok := rs.aggs[a.Neighborhood]; ok && !control.NewerAggregate(a, old) {
		return
	}
	rs.aggs[a.Neighborhood] = a
}

// pruneLocked forgets what the view no longer keeps at now
// (control.KeepAggregate, control.KeepSignal). Called with mu held.
func (rs *regionState) pruneLocked(now time.Time) {
	for id, a := range rs.aggs {
		if !control.KeepAggregate(a, now) {
			delete(rs.aggs, id)
		}
	}
	for id, st := range rs.streams {
		if !control.KeepSignal(st.Signal, now) {
			delete(rs.streams, id)
		}
	}
}

// snapshot prunes the view at now and returns a copy of it, taken under
// mu once: the only read of the view.
func (rs *regionState) snapshot(now time.Time) control.RegionView {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.pruneLocked(now)
	v := control.RegionView{
		Signals:    make([]control.RegionSignal, 0, len(rs.streams)),
		Aggregates: make([]gridmesh.Aggregate, 0, len(rs.aggs)),
	}
	for _, st := range rs.streams {
		v.Signals = append(v.Signals, st)
	}
	for _, a := range rs.aggs {
		v.Aggregates = append(v.Aggregates, a)
	}
	return v
}

// decide is control.DecideRegion on a snapshot of the view.
func (rs *regionState) decide(nbhd gridmesh.NeighborhoodID, now time.Time) regionDecision {
	return regionDecisionOf(control.DecideRegion(rs.snapshot(now), nbhd, now))
}

// regionDecision is control.RegionDecision with its signals as Status
// shows them.
type regionDecision struct {
	OffsetW    gridmesh.W
	Seq        uint64
	Signals    []RegionSignalStatus
	Aggregates int
}

// regionDecisionOf converts d for Status.
func regionDecisionOf(d control.RegionDecision) regionDecision {
	out := regionDecision{OffsetW: d.OffsetW, Seq: d.Seq, Aggregates: d.Aggregates}
	for _, sd := range d.Signals {
		s := sd.Signal
		ss := RegionSignalStatus{
			ID: s.ID, Kind: s.Kind.String(), Seq: s.Seq, StartMs: s.StartMs, EndMs: s.EndMs,
			RequestW: s.AmountW, Value: sd.Value, ShareW: sd.Share.W, CapacityW: sd.Share.CapacityW, OffsetW: sd.OffsetW,
			AllocatedW: sd.Allocation.AllocatedW, ShortfallW: sd.Allocation.ShortfallW,
		}
		for _, sh := range sd.Allocation.Shares {
			ss.Shares = append(ss.Shares, RegionShare{Neighborhood: sh.Neighborhood, CapacityW: sh.CapacityW, W: sh.W})
		}
		out.Signals = append(out.Signals, ss)
	}
	return out
}

// regionalTarget is the target planOnce dispatches (control.RegionalTarget
// on a snapshot of the view). Called by the dispatch goroutine only, once
// per plan: it owns seqFloor and writes appliedW. Until the view is warm
// (a leader that joined the aggregates topic less than regionWarmUp ago)
// the offset is the one the neighborhood's last committed plan carried.
func (n *Node) regionalTarget(t gridmesh.Target, now time.Time) gridmesh.Target {
	rs := &n.region
	d := control.DecideRegion(rs.snapshot(now), n.cfg.Neighborhood, now)
	if !rs.warm(now, d.Aggregates, n.regionNeighborhoods()) {
		d.OffsetW = n.heldOffset(t, max(rs.seqFloor, d.Seq))
	}
	t, rs.seqFloor = control.RegionalTarget(t, d, rs.seqFloor)
	rs.appliedW.Store(math.Float64bits(float64(d.OffsetW)))
	return t
}

// warm reports whether this home's view holds the region's aggregates at
// now: it joined the aggregates topic regionWarmUp ago or more, or the
// held fresh aggregates (a RegionDecision's count: one per neighborhood)
// cover each of the expect neighborhoods the region has (0: not known).
func (rs *regionState) warm(now time.Time, held, expect int) bool {
	at := rs.joinedAt.Load()
	if at == 0 {
		return false
	}
	return now.Sub(time.Unix(0, at)) >= regionWarmUp || (expect > 0 && held >= expect)
}

// regionNeighborhoods is how many neighborhoods the region has, if known:
// with admission on, an aggregate is accepted only from a neighborhood
// whose key is configured, so those keys (and this neighborhood's) are
// the region's neighborhoods. 0 without admission.
func (n *Node) regionNeighborhoods() int {
	if n.cfg.Mesh.Admission == nil {
		return 0
	}
	keys := n.cfg.Mesh.Region.NeighborhoodKeys
	if _, ok := keys[n.cfg.Neighborhood]; ok {
		return len(keys)
	}
	return len(keys) + 1
}

// heldOffset is the regional offset the neighborhood's last committed plan
// carried, if that plan was made for the same own target t and the same
// regional Seq (the same signals in force): a new leader keeps its
// predecessor's share while its view warms up. Otherwise (a signal
// started or ended since, or no plan) it is 0: the share of a signal
// split from a view that lacks most aggregates would be wrong, and
// carrying none for a few seconds errs on the safe side.
func (n *Node) heldOffset(t gridmesh.Target, regionalSeq uint64) gridmesh.W {
	if n.group == nil {
		return 0
	}
	_, body, _ := n.group.Latest()
	return offsetCarried(body, t, regionalSeq)
}

// offsetCarried is the regional offset the committed plan body carried
// if it was made for target t with regionalSeq, else 0 (see heldOffset).
func offsetCarried(body []byte, t gridmesh.Target, regionalSeq uint64) gridmesh.W {
	if body == nil {
		return 0
	}
	last, err := mesh.DecodePlan(body)
	if err != nil || last.Target.Seq != t.Seq+regionalSeq {
		return 0
	}
	return t.ImportW - last.Target.ImportW
}

// runRegion joins the region and runs its receiver, the aggregate
// runner and the signal-boundary waker until ctx ends, and answers
// other leaders asking which leaders this home knows.
func (n *Node) runRegion(ctx context.Context, table *telemetryTable) error {
	r, err := n.mesh.JoinRegion()
	if err != nil {
		return fmt.Errorf("region: %w", err)
	}
	defer r.Close()
	n.carried.regionOpened(r) // its refusals are summed with earlier handles
	n.region.handle.Store(r)  // kept after Close: Status still reports its signals
	n.mesh.ServeLeaders(n.knownLeaders)
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return n.receiveRegion(ctx, r) })
	eg.Go(func() error { return n.runAggregates(ctx, r, table) })
	eg.Go(func() error { return n.wakeOnSignalBoundaries(ctx) })
	return eg.Wait()
}

// receiveRegion fills the view from src, the region topic (signals) or,
// while this home leads, the aggregates topic. A new signal step wakes
// the dispatcher, so a leader follows it at once.
func (n *Node) receiveRegion(ctx context.Context, src regionSource) error {
	for {
		msg, _, err := src.Next(ctx)
		if err != nil {
			return err
		}
		if msg.Signal != nil {
			n.metrics.signalsReceived.Inc()
		}
		if n.region.take(msg, n.now()) {
			n.wakeDispatcher()
		}
	}
}

// regionSource is one of the region's subscriptions: a *mesh.Region or a
// *mesh.Aggregates.
type regionSource interface {
	Next(ctx context.Context) (mesh.RegionMessage, peer.ID, error)
}

// take folds one accepted region message into the view at now: a
// signal's step (putSignal) or an aggregate (putAggregate). It reports
// whether a new signal step was kept, on which a leader plans at once.
func (rs *regionState) take(msg mesh.RegionMessage, now time.Time) (newStep bool) {
	switch {
	case msg.Signal != nil:
		return rs.putSignal(*msg.Signal, now)
	case msg.Aggregate != nil:
		rs.putAggregate(*msg.Aggregate)
	}
	return false
}

// knownLeaders is what this home answers a leader asking which leaders it
// knows (mesh.LeadersProtocol): its neighborhood's leader and, while it
// leads, the leaders it gossips aggregates with.
func (n *Node) knownLeaders() []peer.ID {
	nw := n.up.Load() // a libp2p stream handler's goroutine: not the network's own
	if nw == nil {
		return nil
	}
	var out []peer.ID
	if id, _ := nw.group.Leader(); id != "" {
		if p, err := peer.Decode(id); err == nil {
			out = append(out, p)
		}
	}
	if a := n.region.leading.Load(); a != nil {
		out = append(out, a.Peers()...)
	}
	return out
}

// runAggregates follows this home's leadership, checked every
// regionLeadCheck:
// when it starts leading it joins the aggregates topic (leadAggregates),
// when it stops it leaves it. While it leads it publishes the
// neighborhood's aggregate every control.AggregatePeriod, the first as
// soon as it leads with telemetry at hand.
func (n *Node) runAggregates(ctx context.Context, r *mesh.Region, table *telemetryTable) error {
	ticker := time.NewTicker(regionLeadCheck)
	defer ticker.Stop()
	var lead *aggregateLead
	defer func() { lead.stop(&n.region) }()
	var last time.Time // the last aggregate published, over every spell of leading
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		leading := n.group.IsLeader()
		switch {
		case leading && lead == nil:
			if lead = n.leadAggregates(ctx, r); lead != nil {
				lead.last = last // leading again at once: the validators' interval still holds
			}
		case !leading && lead != nil:
			lead.stop(&n.region)
			last, lead = lead.last, nil
		}
		if lead != nil {
			n.publishAggregate(ctx, lead, table)
		}
	}
}

// aggregateLead is one spell of leading: the aggregates topic's handle,
// its receiver and leader finder, and the last aggregate published.
type aggregateLead struct {
	a      *mesh.Aggregates
	cancel context.CancelFunc
	wg     sync.WaitGroup
	last   time.Time
	peers  int // aggregate peers when it last published
}

// leadAggregates joins the aggregates topic and starts its receiver and
// the leader finder; nil if the topic cannot be joined (tried again at
// the next tick).
func (n *Node) leadAggregates(ctx context.Context, r *mesh.Region) *aggregateLead {
	a, err := r.JoinAggregates()
	if err != nil {
		n.log.Warn("aggregates topic not joined", "err", err)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	lead := &aggregateLead{a: a, cancel: cancel}
	n.region.leading.Store(a)
	n.region.joinedAt.Store(n.now().UnixNano())
	lead.wg.Go(func() { _ = n.receiveRegion(ctx, a) })
	lead.wg.Go(func() { a.KeepFinding(ctx, regionFindPeriod, regionLeaderPeers, regionAsk, regionDial) })
	return lead
}

// stop leaves the aggregates topic (nil: nothing to stop).
func (l *aggregateLead) stop(rs *regionState) {
	if l == nil {
		return
	}
	rs.leading.Store(nil)
	rs.joinedAt.Store(0)
	l.cancel()
	_ = l.a.Close()
	l.wg.Wait()
}

// publishAggregate publishes the neighborhood's aggregate if one is due:
// every control.AggregatePeriod, and sooner (regionRepublishAfter) when
// the leader has more aggregate peers than when it last published. A
// leader's first aggregates often go out before it has found any other
// leader, and reach no one; and a leader that just joined warms up
// sooner if those it joined resend theirs.
func (n *Node) publishAggregate(ctx context.Context, lead *aggregateLead, table *telemetryTable) {
	now := n.now()
	peers := len(lead.a.Peers())
	grew := peers > lead.peers && now.Sub(lead.last) >= regionRepublishAfter
	if !control.AggregateDue(lead.last, now) && !grew {
		return
	}
	agg, ok := n.aggregate(table, now)
	if !ok {
		return
	}
	if err := lead.a.Publish(ctx, agg); err != nil {
		if ctx.Err() == nil {
			n.stats.publishErrors.Add(1)
			n.log.Debug("publish aggregate", "err", err)
		}
		return
	}
	lead.last, lead.peers = now, peers
}

// aggregate is the neighborhood's aggregate (control.NeighborhoodAggregate)
// from the homes heard from within TelemetryMaxAge and the offset the last
// plan carried.
func (n *Node) aggregate(table *telemetryTable, now time.Time) (gridmesh.Aggregate, bool) {
	homes := table.fresh(now, n.cfg.TelemetryMaxAge)
	_, term := n.group.Leader()
	latest, _, _ := n.group.Latest()
	applied := gridmesh.W(math.Float64frombits(n.region.appliedW.Load()))
	return control.NeighborhoodAggregate(n.cfg.Neighborhood, gridmesh.Epoch{Term: term, Index: latest.Index}, now, homes, applied)
}

// wakeOnSignalBoundaries wakes the dispatcher when a signal starts or
// ends (control.RegionBoundaries), so a leader re-plans then rather than at
// its next period. It sleeps until the next boundary it knows of, or
// regionWakePeriod at most (a signal may arrive meanwhile). inForce is
// this goroutine's own.
func (n *Node) wakeOnSignalBoundaries(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var inForce []string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		now := n.now()
		next, in, crossed := control.RegionBoundaries(n.region.snapshot(now).Signals, now, regionWakePeriod, inForce)
		if crossed {
			n.wakeDispatcher()
		}
		inForce = in
		timer.Reset(min(max(next.Sub(now), time.Millisecond), regionWakePeriod))
	}
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
	// Aggregates is how many neighborhoods have a fresh aggregate here:
	// only a leader receives them. ShareW is 0 and the signals' splits
	// partial where this home does not lead, or leads since less than
	// regionWarmUp and has not heard every neighborhood yet.
	Aggregates int `json:"aggregates"`
	// Rejections are the region messages this home refused, by reason
	// (mesh.ReasonSignal..., mesh.ReasonAggregate...).
	Rejections map[string]uint64 `json:"rejections"`
	// AggregateCopies counts the aggregate messages this home's host
	// received from peers (first copies and duplicates) since its network
	// opened: 0 for a home that never led.
	AggregateCopies uint64 `json:"aggregate_copies_received"`
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
func (n *Node) regionStatus(nw *network) *RegionStatus {
	r := n.region.handle.Load()
	if r == nil {
		return nil
	}
	now := n.now()
	d := n.region.decide(n.cfg.Neighborhood, now)
	s := &RegionStatus{
		Name: r.Name(), Signals: d.Signals, OffsetW: d.OffsetW,
		Aggregates: d.Aggregates, Rejections: n.carried.counts().Region,
	}
	if nw != nil {
		tr := nw.mesh.TrafficOf(mesh.TopicAggregates)
		s.AggregateCopies = tr.Received + tr.Duplicates
	}
	if !n.region.warm(now, d.Aggregates, n.regionNeighborhoods()) {
		// Not leading, or leading with a view still warming up: the
		// split of its view is not the region's; the offset is what the
		// last plan carried.
		s.OffsetW = gridmesh.W(math.Float64frombits(n.region.appliedW.Load()))
		return s
	}
	for _, sig := range d.Signals {
		s.ShareW += sig.ShareW
	}
	return s
}
