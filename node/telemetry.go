package node

import (
	"context"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
)

// publishTelemetry looks at the loop's newest reading every
// TelemetryPeriod, and at once when formation asks (reportNow), and
// reports it when control.ReportDue says so: on a change the planner
// would notice, on a change of what the home announces, and at least
// every heartbeat. Reports leave through a one-report outbox
// (telemetryOutbox) that a goroutine of its own publishes from, so that
// a slow gossip layer never holds up the look at the reading, and an
// unsent report is replaced by a newer one rather than queued behind it.
// While the process is overloaded (control.Shedding: the device loop's
// ticks start late, or publishing stalls), changes of figures wait for
// the heartbeat. A failed publish is counted and the next report tries
// again: telemetry is a stream, a lost report is replaced by the next.
// It returns once both goroutines have.
func (n *Node) publishTelemetry(ctx context.Context) error {
	eg, ctx := errgroup.WithContext(ctx)
	out := newTelemetryOutbox()
	eg.Go(func() error { return n.sendTelemetry(ctx, out) })
	eg.Go(func() error { return n.sampleTelemetry(ctx, out) })
	return eg.Wait()
}

// telemetrySampler is what sampleTelemetry carries from one look to the
// next. One owner: the sampler goroutine.
type telemetrySampler struct {
	last     gridmesh.Telemetry // the last report handed to the outbox
	lastAt   time.Time
	started  time.Time // the first report
	shed     control.SheddingState
	looked   time.Time // the previous look, for the time spent thinned
	report   control.ReportConfig
	shedding control.SheddingConfig
}

// sampleTelemetry is publishTelemetry's deciding half.
func (n *Node) sampleTelemetry(ctx context.Context, out *telemetryOutbox) error {
	ticker := time.NewTicker(n.cfg.TelemetryPeriod)
	defer ticker.Stop()
	s := &telemetrySampler{report: n.cfg.reportConfig(), shedding: n.cfg.sheddingConfig()}
	for {
		n.hold(ctx) // paused: silent, as a stopped process (pause.go)
		n.sampleOnce(s, out, time.Now())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		case <-n.reportNow:
		}
	}
}

// sampleOnce judges the process's load, builds the report of the loop's
// newest reading and hands it to the outbox if it is due.
func (n *Node) sampleOnce(s *telemetrySampler, out *telemetryOutbox, now time.Time) {
	// A report still waiting in the outbox is a publish under way for
	// that long: the sign comes before the publish ends.
	signs := control.LoadSigns{
		LoopLate:    time.Duration(n.stats.loopLate.Swap(0)),
		PublishTook: max(time.Duration(n.stats.publishTook.Swap(0)), out.waiting(now)),
	}
	s.shed = control.Shedding(s.shed, signs, now, s.shedding)
	if s.shed.Thinned && !s.looked.IsZero() {
		n.stats.thinnedNs.Add(uint64(now.Sub(s.looked)))
	}
	n.stats.thinned.Store(s.shed.Thinned)
	s.looked = now
	snap := n.stats.loop.Load()
	if snap == nil {
		return
	}
	t := n.telemetryOf(snap)
	standing := control.ReportStanding{Thinned: s.shed.Thinned, Unplanned: unplanned(snap, n.cfg.Home), Started: s.started}
	why := control.ReportDue(s.last, t, s.lastAt, now, standing, s.report)
	switch {
	case why == control.ReportWithheld:
		n.stats.reportsWithheld.Add(1)
		return
	case !why.Send():
		return
	}
	n.stats.reportsDue[why].Add(1)
	if s.started.IsZero() {
		s.started = now
	}
	s.last, s.lastAt = t, now
	if t.NoReading {
		n.stats.reportsWithoutReading.Add(1)
	}
	if out.put(t, now) {
		n.stats.reportsShed.Add(1)
	}
}

// unplanned reports whether the home holds a plan, with a reading the
// leader could have planned with, that has no setpoint for it.
func unplanned(snap *loopSnapshot, home gridmesh.HomeID) bool {
	if !snap.HasPlan || !snap.MeterOK || !snap.BatteryOK {
		return false
	}
	return !slices.ContainsFunc(snap.Setpoints, func(sp gridmesh.Setpoint) bool { return sp.Home == home })
}

// telemetryOf is the report of snap, without its Seq (the sender
// numbers it). Without a meter and battery reading the home cannot say
// what it draws or can give: it reports that it has no reading (the
// leader plans without it, and keeps it as a member and voter) rather
// than a false figure, or nothing.
func (n *Node) telemetryOf(snap *loopSnapshot) gridmesh.Telemetry {
	t := gridmesh.Telemetry{
		Version:      gridmesh.WireVersion,
		Home:         n.cfg.Home,
		Neighborhood: n.cfg.Neighborhood,
		AtMs:         snap.At.UnixMilli(),
		NetW:         snap.Reading.NetW,
		BaseW:        snap.baseW(),
		Battery:      snap.Offered, // as the owner lets it offer (owner.go)
		Addrs:        n.mesh.Addrs(),
		Cluster:      n.group.ClusterID(),
		Applied:      n.group.AppliedIndex(),
		Loads:        homeLoadsOf(snap, snap.Shed),
	}
	if !snap.MeterOK || !snap.BatteryOK {
		t.NoReading = true
		t.NetW, t.BaseW, t.Battery, t.Loads = 0, 0, gridmesh.Flexibility{}, nil
	}
	if t.Joined = n.group.HasState(); !t.Joined {
		if t.Joining = n.group.Joining(); t.Joining == "" {
			t.Founder = n.founderName()
		}
	}
	return t
}

// announceEvery is how often a home that sends its reports to its
// leader on a stream (mesh.Neighborhood.SendTelemetry) publishes one on
// the neighborhood's topic instead: the voters and any other cluster of
// the neighborhood hear of every home at least this often (a merge of
// two clusters starts from the homes of the other), at a fraction of
// the topic's cost of every report. Twice TelemetryMaxAge: 10 s by
// default; formation takes a home announced within TelemetryMaxAge of
// that to be fresh.
func (c Config) announceEvery() time.Duration { return 2 * c.TelemetryMaxAge }

// resendPeriods and resendMax: the reports a home sent its leader within
// the last resendPeriods telemetry periods (at most the resendMax
// newest) go again along the new way when the leader changes or its
// stream fails: the old leader may have stopped with them unread, or
// before passing them on to an archiver. Why 5 periods: a home learns of
// a new leader within an election and a beacon (about a second); the new
// leader keeps the newest report of each home and an archiver drops what
// it holds, so a report twice costs a frame. Why 4: a home reports about
// every other period, and a burst on the topic must stay well within
// each author's allowance there (mesh: 10), or receivers refuse it and
// gossip scores the home down.
const (
	resendPeriods = 5
	resendMax     = 4
)

// telemetryRoute is what sendTelemetry carries from one report to the
// next. One owner: the sender goroutine.
type telemetryRoute struct {
	to        peer.ID // the leader recent went to; "" if none
	recent    []sentReport
	announced time.Time // the last report on the topic
}

type sentReport struct {
	t  gridmesh.Telemetry
	at time.Time
}

// sent notes a report sent to leader to at now; window is how long it
// is kept to go again.
func (r *telemetryRoute) sent(to peer.ID, t gridmesh.Telemetry, now time.Time, window time.Duration) {
	if to != r.to {
		r.to, r.recent = to, r.recent[:0]
	}
	r.recent = slices.DeleteFunc(r.recent, func(s sentReport) bool { return now.Sub(s.at) > window })
	if len(r.recent) == resendMax {
		r.recent = slices.Delete(r.recent, 0, 1)
	}
	r.recent = append(r.recent, sentReport{t, now})
}

// take returns the reports sent to the leader within window of now,
// oldest first, and forgets them.
func (r *telemetryRoute) take(now time.Time, window time.Duration) []gridmesh.Telemetry {
	var out []gridmesh.Telemetry
	for _, s := range r.recent {
		if now.Sub(s.at) <= window {
			out = append(out, s.t)
		}
	}
	r.to, r.recent = "", r.recent[:0]
	return out
}

// sendTelemetry is publishTelemetry's sending half: it sends what the
// outbox holds, one report at a time (sendReport), and tells the
// sampler how long that took. It numbers the reports as it sends them,
// so that a report shed in the outbox leaves no gap in Seq: a gap is a
// report lost on the way.
func (n *Node) sendTelemetry(ctx context.Context, out *telemetryOutbox) error {
	var seq uint64
	var route telemetryRoute
	for {
		t, err := out.take(ctx)
		if err != nil {
			return err
		}
		seq++
		t.Seq = seq
		n.hold(ctx)
		began := time.Now()
		err = n.sendReport(ctx, &route, t, began)
		storeMax(&n.stats.publishTook, int64(time.Since(began)))
		switch {
		case err == nil:
			n.stats.reportsSent.Add(1)
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			n.stats.publishErrors.Add(1)
			n.log.Debug("publish telemetry", "err", err)
		}
	}
}

// sendReport sends one report. A home that knows its leader (Raft's or
// a beacon's) and is not the leader sends it to the leader on a stream,
// except every announceEvery, when it publishes on the topic, and for
// announceEvery after a home of its neighborhood from outside its
// cluster connected to it (listenTelemetry, newNeighbor), when it
// publishes every report there: a home that
// arrives (a newcomer, or a bridge between two clusters of a healed
// partition) hears everyone it reaches as before, and the merge and
// join rules see the homes of both sides; otherwise, or if the stream
// fails, it publishes on the topic. Reports sent to a
// leader that is no longer the one, or whose stream failed, go again
// (resendPeriods) ahead of it.
func (n *Node) sendReport(ctx context.Context, r *telemetryRoute, t gridmesh.Telemetry, now time.Time) error {
	to, known := n.telemetryLeader()
	window := resendPeriods * n.cfg.TelemetryPeriod
	var again []gridmesh.Telemetry
	if r.to != "" && (!known || to != r.to) {
		again = r.take(now, window)
	}
	if known && now.Sub(r.announced) < n.cfg.announceEvery() && now.UnixNano() >= n.announceUntil.Load() {
		pending := append(again, t)
		again = nil
		for i, p := range pending {
			if err := n.nbhd.SendTelemetry(ctx, to, p); err != nil {
				n.stats.directErrors.Add(1)
				n.log.Debug("telemetry to the leader", "err", err)
				again = append(r.take(now, window), pending[i:len(pending)-1]...)
				break
			}
			r.sent(to, p, now, window)
			if i == len(pending)-1 {
				n.stats.reportsDirect.Add(1)
				return nil
			}
		}
	}
	for _, p := range again {
		if err := n.nbhd.PublishTelemetry(ctx, p); err != nil {
			n.log.Debug("publish telemetry again", "seq", p.Seq, "err", err)
		}
	}
	if err := n.nbhd.PublishTelemetry(ctx, t); err != nil {
		return err
	}
	r.announced = now
	return nil
}

// telemetryLeader returns the leader to send reports to: the one this
// home knows (Raft's, or a beacon's outside the configuration), if it is
// another home.
func (n *Node) telemetryLeader() (peer.ID, bool) {
	id, _ := n.group.Leader()
	if id == "" {
		return "", false
	}
	p, err := peer.Decode(id)
	if err != nil || p == n.mesh.ID() {
		return "", false
	}
	return p, true
}

// announce asks publishTelemetry for a report now.
func (n *Node) announce() {
	select {
	case n.reportNow <- struct{}{}:
	default: // one is pending
	}
}

// receiveTelemetry fills the table from the neighborhood topic (it is
// the table's one writer: telemetry_table.go) and teaches the host each
// home's addresses, so that whichever voter leads can reach every home.
func (n *Node) receiveTelemetry(ctx context.Context, table *telemetryTable) error {
	for {
		t, from, err := n.nbhd.NextTelemetry(ctx)
		n.hold(ctx)
		if err != nil {
			return err
		}
		n.mesh.AddPeerAddrs(from, t.Addrs)
		t, cut := control.Plausible(t, n.cfg.plausibleHomeW())
		if cut {
			n.stats.reportsImplausible.Add(1)
		}
		table.put(t, from, n.now())
	}
}

// founderName is the founder this home names while it has no Raft state.
func (n *Node) founderName() string {
	s, _ := n.founder.Load().(string)
	return s
}

// listenTelemetry keeps this home subscribed to its neighborhood's
// telemetry exactly while it or its peers need the reports, as
// consensus.Listen decides.
func (n *Node) listenTelemetry(ctx context.Context) error {
	ticker := time.NewTicker(n.cfg.TelemetryPeriod / 2)
	defer ticker.Stop()
	var st consensus.ListenState
	var neighbors map[string]bool
	for {
		var want bool
		in := n.listenInput()
		leader, _ := n.group.Leader()
		if newNeighbor(neighbors, in.Neighbors, func(p string) bool { return p == leader || in.Members[p] }) {
			n.stats.announceWindows.Add(1)
			n.announceUntil.Store(time.Now().Add(n.cfg.announceEvery()).UnixNano())
		}
		neighbors = make(map[string]bool, len(in.Neighbors))
		for _, p := range in.Neighbors {
			neighbors[p] = true
		}
		n.listenPlans(in, time.Now())
		st, want = consensus.Listen(st, in, time.Now())
		if err := n.nbhd.SubscribeTelemetry(want); err != nil {
			n.log.Warn("telemetry subscription", "want", want, "err", err)
		} else {
			n.listening.Store(want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// newNeighbor reports whether now holds a peer before does not and
// that is not of this home's cluster (ours: the leader it knows and the
// members of its Raft configuration, who have nothing to merge or join,
// and whose dials to beacon or replicate come and go); not on the first
// look (before is nil), when every peer is new.
func newNeighbor(before map[string]bool, now []string, ours func(string) bool) bool {
	if before == nil {
		return false
	}
	return slices.ContainsFunc(now, func(p string) bool { return !before[p] && !ours(p) })
}

// listenInput gathers what consensus.Listen needs: the home's Raft state
// and the admitted peers it is connected to.
func (n *Node) listenInput() consensus.ListenInput {
	v := n.membership()
	leader, _ := n.group.Leader()
	beaconed, _, _ := n.group.Beaconed()
	in := consensus.ListenInput{HasState: n.group.HasState(), Voter: v.voter, LeaderKnown: leader != "", Members: v.ids, Beaconed: beaconed != ""}
	for _, p := range n.mesh.Host().Network().Peers() {
		if n.mesh.Admitted(p) {
			in.Neighbors = append(in.Neighbors, p.String())
		}
	}
	return in
}
