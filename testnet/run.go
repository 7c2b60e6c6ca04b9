package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/node"
)

// bootTimeout bounds how long one home may take to listen at start.
const bootTimeout = 30 * time.Second

// Run starts the city, plays the scenarios for cfg.Duration, stops every
// home and returns the report. It returns an error only when the city
// could not run at all; what went wrong during a run is in Report.Errors.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	realStart := time.Now()
	spent := newCostMeter()
	// The devices' clock runs Speed times faster than real time.
	clock := func() time.Time {
		return cfg.SimStart.Add(time.Duration(cfg.Speed * float64(time.Since(realStart))))
	}
	rec := newRecorder(cfg.Node.PlanPeriod)
	if cfg.Operator != nil {
		rec.steps = newTargetSteps()
	}
	c, err := newCity(cfg, rec, clock, log)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	// From here every return stops the city: its homes, held ports, data
	// directory and device servers.
	defer c.stop()
	if cfg.Dashboard != nil {
		defer c.serveDashboard(ctx, cfg.Dashboard, log)()
	}
	region, err := newRegional(c) // the grid operator (regional.go)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	for _, nb := range c.nbhds {
		nb.target = gridmesh.Target{Seq: 1, ImportW: cfg.TargetPerHomeW * gridmesh.W(len(nb.homes))}
	}
	var arch *cityArchiver
	if cfg.Archive != "" {
		// Before the homes, so it hears them from their first reports
		// on (it redials its bootstrap homes until they listen).
		if arch, err = c.startArchiver(ctx, cfg.Archive, log); err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		defer arch.shutdown()
	}
	started := time.Now()
	if err := c.start(ctx, bootTimeout); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	r := &run{cfg: cfg, c: c, rec: rec, called: realStart, started: started, t0: time.Now(), log: log, lost: map[gridmesh.HomeID]bool{}}
	r.cost = spent
	r.cost.began(r.t0)
	r.region = region
	r.arch = arch
	r.meters = make([]*feederMeter, len(c.nbhds))
	for k, nb := range c.nbhds {
		r.meters[k] = newFeederMeter(nb, r.t0)
	}
	r.series = newSeriesRec(cfg, r.t0, c.nbhds)
	r.forecast = newForecastRec(c)
	stopOperator := r.startOperator(ctx) // an outside operator (operator.go)
	err = r.play(ctx)
	r.cost.ended(time.Now())
	stopOperator()
	if err != nil {
		return nil, err
	}
	rep := r.finish(ctx)
	return rep, nil
}

// run is one testnet run in progress. Its fields are owned by the
// goroutine that called Run.
type run struct {
	cfg Config
	c   *city
	rec *recorder
	// called is when Run was called; started when the first home
	// started; t0 when the last one listened and the scenarios' clock
	// began.
	called  time.Time
	started time.Time
	t0      time.Time
	log     *slog.Logger
	meters  []*feederMeter

	withoutPlanMax int
	// planAge is the age of the plan every live home followed at every
	// sample (degraded.go).
	planAge msHist
	errors  []string

	// dip is the frequency-dip scenario's probe; nil without it.
	dip *frequencyDip
	// rogue is the rogue scenario's attack; nil without it.
	rogue *rogueAttack
	// attacks are the attack scenarios (attacks.go); nil without them.
	attacks *attacks
	// lost are the homes without a valid plan at the last sample, to log
	// each loss once.
	lost map[gridmesh.HomeID]bool
	// churn counts what churn and pause-leader did (churn.go).
	churn churnStats
	// region is the grid operator and what the region did (regional.go).
	region *regional
	// outage is the outage scenario's feeders and accounts; nil without it.
	outage *outage
	// sched is the scenarios' clock (schedule.go); verdicts are the
	// outcomes the scenarios await before the run may end; ran is how
	// long the scenarios ran, from t0.
	sched    *schedule
	verdicts []func() verdictState
	ran      time.Duration
	// series records the run's time series for the report (series.go).
	series *seriesRec
	// allPlannedCPU is the process's CPU time when every neighborhood
	// had first had all its live homes on a plan; 0 until then.
	allPlannedCPU time.Duration
	// gossipStart are the live homes' gossip counters at that moment,
	// and gossipAt the moment (gossip.go).
	gossipStart map[*home]gossipCount
	gossipAt    time.Time
	// forecast records each neighborhood's critical load and PV for the
	// forecast's skill (forecast.go).
	forecast *forecastRec
	// arch is the run's archiver; nil without Config.Archive.
	arch *cityArchiver
	// cost is the process's CPU and memory over the run (cost.go).
	cost *costMeter
	// stepSeen is the newest target Seq each neighborhood's plans carried
	// at the last sample, with an outside operator (operator.go).
	stepSeen []uint64
}

// event is something a scenario does at an offset into the run. do runs
// on the run's goroutine with the run's context: whatever it starts
// (a home, a probe, a rogue host) ends when that context ends, and the
// run waits for it before it returns. A fault (a kill, a crash, a
// leave, a restart, a pause) keeps its recovery window however late it
// fires (schedule.fired).
type event struct {
	at    time.Duration
	name  string
	do    func(ctx context.Context, now time.Time)
	fault bool
}

// timeline lists the scenarios' events in time order.
func (r *run) timeline() []event {
	var evs []event
	d := r.cfg.Duration
	if r.cfg.has(ScenarioDR) {
		evs = append(evs, r.drEvents()...) // a signed regional cut (regional.go)
	}
	if r.cfg.has(ScenarioRegulation) {
		evs = append(evs, r.regulationEvents()...)
	}
	if r.cfg.has(ScenarioLeaderKill) {
		evs = append(evs, event{at: d / 2, name: "leader kill", do: r.killLeaders, fault: true})
	}
	if r.cfg.has(ScenarioFrequencyDip) {
		evs = append(evs, r.frequencyDipEvents()...)
	}
	if r.cfg.has(ScenarioChurn) {
		evs = append(evs, r.churnEvents()...)
	}
	if r.cfg.has(ScenarioPauseLeader) {
		evs = append(evs, event{at: d * 6 / 10, name: "pause leaders", do: r.pauseLeaders, fault: true})
	}
	if r.cfg.has(ScenarioRogue) {
		evs = append(evs, r.rogueEvents()...)
	}
	if r.cfg.has(ScenarioOutage) {
		evs = append(evs, r.outageEvents()...)
	}
	evs = append(evs, r.attackEvents()...) // attacks.go
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.at - b.at) })
	return evs
}

// play runs the timeline, sampling every SamplePeriod and printing a
// summary every second, until the run may end (mayEnd): Duration has
// passed, and longer when its events fired late or a scenario still
// awaits its verdicts.
func (r *run) play(ctx context.Context) error {
	sample := time.NewTicker(r.cfg.SamplePeriod)
	defer sample.Stop()
	summary := time.NewTicker(time.Second)
	defer summary.Stop()
	evs := r.timeline()
	r.sched = newSchedule(r.t0, r.cfg.Duration)
	next := time.NewTimer(time.Hour)
	defer next.Stop()
	defer r.dip.stop() // the run may end during the dip
	defer r.rogue.stop()
	defer r.attacks.stop()
	arm := func() {
		if len(evs) > 0 {
			next.Reset(time.Until(r.sched.due(evs[0])))
		}
	}
	arm()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: %w", ctx.Err())
		case now := <-next.C:
			ev := evs[0]
			evs = evs[1:]
			r.log.Info("scenario event", "event", ev.name, "at", ev.at, "late", now.Sub(r.sched.due(ev)).Round(time.Millisecond))
			ev.do(ctx, now)
			r.series.event(ev.name, now)
			r.sched.fired(ev, now, time.Now())
			arm()
		case now := <-sample.C:
			r.sample(now)
			if r.ended(now, len(evs)) {
				return nil
			}
		case now := <-summary.C:
			r.printSummary(now)
		}
	}
}

// ended reports whether the run may end at now with eventsLeft events
// still to fire, and if so reports the verdicts that did not come in.
func (r *run) ended(now time.Time, eventsLeft int) bool {
	if now.Before(r.sched.end) {
		return false // no verdict is read before the end
	}
	states := make([]verdictState, len(r.verdicts))
	for i, v := range r.verdicts {
		states[i] = v()
	}
	end, overdue := mayEnd(now, r.sched.end, eventsLeft, states)
	if !end {
		return false
	}
	for _, v := range overdue {
		due := v.due
		if due.IsZero() {
			due = r.sched.end
		}
		r.errors = append(r.errors, fmt.Sprintf("%s: not in by %v into the run (due at %v): %s", v.name,
			now.Sub(r.t0).Round(time.Millisecond), due.Sub(r.t0).Round(time.Millisecond), v.missing))
	}
	r.ran = now.Sub(r.t0)
	if over := r.ran - r.cfg.Duration; over > r.cfg.SamplePeriod {
		r.log.Info("the run went on past its duration", "by", over.Round(time.Millisecond), "events_late_max", r.sched.lateMax.Round(time.Millisecond))
	}
	return true
}

// killLeaders kills every neighborhood's leader hard.
func (r *run) killLeaders(ctx context.Context, now time.Time) {
	for _, nb := range r.c.nbhds {
		// The kill may fall between two leaders: wait a few elections.
		awaitLeader(ctx, nb, faultLeaderWait*r.cfg.Node.Raft.ElectionTimeout)
		leader, term := leaderOf(nb)
		if leader == nil {
			r.errors = append(r.errors, fmt.Sprintf("%s: no leader to kill at %v", nb.id, now.Sub(r.t0).Round(time.Millisecond)))
			continue
		}
		var survivors []gridmesh.HomeID
		for _, h := range nb.live() {
			if h != leader {
				survivors = append(survivors, h.id)
			}
		}
		r.rec.leaderKilled(nb.id, term, time.Now(), survivors)
		r.c.kill(leader)
	}
}

// faultLeaderWait, in election timeouts, is how long a fault waits for
// what it strikes (a leader to kill or pause, a voter to crash). Why 25:
// a few elections, each up to twice the timeout and split votes
// repeating, on a loaded machine. The fault's recovery window begins
// once it has struck, after the wait (schedule.fired).
const faultLeaderWait = 25

// leaderPoll is how often awaitLeader looks for a leader: a few times
// within the shortest election (150 ms at LAN timing), and cheap, since
// each look reads the live homes' status.
const leaderPoll = 10 * time.Millisecond

// awaitLeader returns nb's leader, waiting up to d for one: the end of a
// run may fall in the middle of an election. Nil if none came, or ctx
// ended first.
func awaitLeader(ctx context.Context, nb *neighborhood, d time.Duration) *home {
	deadline := time.Now().Add(d)
	for {
		if l, _ := leaderOf(nb); l != nil || time.Now().After(deadline) || !backoff.Sleep(ctx, leaderPoll) {
			return l
		}
	}
}

// leaderOf returns the live home that leads nb in the highest term, and
// that term.
func leaderOf(nb *neighborhood) (*home, uint64) {
	var best *home
	var term uint64
	for _, h := range nb.live() {
		if s := h.node.Brief(); s.IsLeader && (best == nil || s.Term > term) {
			best, term = h, s.Term
		}
	}
	return best, term
}

func homeIDs(hs []*home) []gridmesh.HomeID {
	out := make([]gridmesh.HomeID, len(hs))
	for i, h := range hs {
		out[i] = h.id
	}
	return out
}

// sample meters every feeder and counts homes without a valid plan.
func (r *run) sample(now time.Time) {
	r.series.begin(now)
	r.sampleRegion(now)
	r.settleOnTargetSteps(now) // an outside operator's signals (operator.go)
	without := 0
	for k, nb := range r.c.nbhds {
		pending, doneAt := r.rec.failoverState(nb.id)
		st := r.meters[k].sample(now, nb, pending, doneAt, r.cfg.Settle, &r.planAge)
		without += st.withoutPlan
		r.series.feeder(k, nb.target.ImportW-nb.regionalW, r.meters[k].lastFeederW, st.leader, st.term)
		for _, h := range st.lost {
			if !r.lost[h] {
				r.lost[h] = true
				r.log.Warn("a home's plan lease ran out", "home", h, "at", now.Sub(r.t0).Round(time.Millisecond))
			}
		}
		for h := range r.lost {
			if !slices.Contains(st.lost, h) && r.c.nbhds[k].has(h) {
				delete(r.lost, h)
			}
		}
	}
	r.withoutPlanMax = max(r.withoutPlanMax, without)
	if r.allPlannedCPU == 0 && r.allPlanned() {
		r.allPlannedCPU = processCost().cpu
		r.gossipStart, r.gossipAt = snapshotGossip(r.c.homes), now
	}
	r.series.soc(r.c.homes)
	r.outageStep(now)
	for k, nb := range r.c.nbhds {
		r.forecast.sample(k, nb)
	}
}

// printSummary writes one line: per neighborhood its leader, target,
// feeder import and how many homes follow a plan.
func (r *run) printSummary(now time.Time) {
	if r.cfg.Summary == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%4.0fs]", now.Sub(r.t0).Seconds())
	for _, m := range r.meters {
		fmt.Fprintf(&b, " | %s leader %s t%d target %v feeder %v plan %d/%d", m.nb.id, orDash(m.leader), m.term,
			m.nb.target.ImportW, m.lastFeederW, m.lastPlanned, m.lastLive)
	}
	fmt.Fprintf(&b, " | no-plan %d | cpu %.0f%%\n", r.withoutPlanMax, r.cost.tick(now))
	_, _ = io.WriteString(r.cfg.Summary, b.String()) // a closed terminal must not stop the run
}

func orDash(h gridmesh.HomeID) string {
	if h == "" {
		return "-"
	}
	return string(h)
}

// finish measures coverage at the end, stops the city and assembles the
// report.
func (r *run) finish(ctx context.Context) *Report {
	rep := &Report{
		Homes:            r.cfg.Homes,
		Neighborhoods:    r.cfg.Neighborhoods,
		DurationS:        r.cfg.Duration.Seconds(),
		RanS:             r.ran.Seconds(),
		EventsLateMaxMs:  ms(r.sched.lateMax),
		Scenario:         r.cfg.Scenarios,
		Seed:             r.cfg.Seed,
		RejectedMessages: map[string]uint64{},
		PlansRefused:     map[string]uint64{},
		Errors:           []string{},
	}
	for k, nb := range r.c.nbhds {
		m := r.meters[k]
		leader := awaitLeader(ctx, nb, 10*r.cfg.Node.Raft.ElectionTimeout)
		nr := NeighborhoodReport{
			ID:               nb.id,
			Homes:            len(nb.homes),
			LiveHomes:        len(nb.live()),
			LeaderChanges:    m.leaderChanges,
			PlanCoverage:     r.coverage(ctx, nb),
			TargetW:          nb.target.ImportW,
			AchievedW:        m.achieved(),
			TrackingErrorPct: m.trackingErrorPct(),
			SteadySamples:    m.steady,
		}
		if leader != nil {
			nr.Leader = leader.id
		} else {
			r.errors = append(r.errors, fmt.Sprintf("%s: no leader at the end", nb.id))
		}
		if first, ok := r.rec.firstPlanAt(nb.id); ok {
			nr.FirstPlanMs = ms(first.Sub(r.started))
		} else {
			r.errors = append(r.errors, fmt.Sprintf("%s: no plan was ever applied", nb.id))
		}
		if m.steady == 0 {
			r.errors = append(r.errors, fmt.Sprintf("%s: no steady sample to measure tracking on", nb.id))
		}
		for _, h := range nb.live() {
			nr.PlansCommitted = max(nr.PlansCommitted, h.node.Status().PlansInLog)
		}
		rep.Neighborhood = append(rep.Neighborhood, nr)
	}
	r.reportTargetSteps(rep) // before the homes stop: judged on the live ones
	for nb, homes := range r.rec.unfinished() {
		slices.Sort(homes)
		r.errors = append(r.errors, fmt.Sprintf("%s: failover never reached %v", nb, homes))
	}
	if r.gossipStart != nil {
		rep.Gossip = gossipRates(r.gossipStart, snapshotGossip(r.c.homes), time.Since(r.gossipAt).Seconds())
	}
	r.c.stop()
	if r.arch != nil { // after the homes: it has heard all it will
		var err error
		if rep.Archive, err = r.arch.stop(r.c, r.cfg.Archive); err != nil {
			r.errors = append(r.errors, err.Error())
		}
	}
	for _, h := range r.c.homes {
		if h.err != nil && !errors.Is(h.err, context.Canceled) {
			r.errors = append(r.errors, fmt.Sprintf("%s: %v", h.id, h.err))
		}
		for _, st := range h.runs { // every run: churn restarts homes
			c := st.Counters
			rep.LoopTicksMissed += c["loop_ticks_missed"]
			rep.LoopTicksUnsettled += c["loop_ticks_unsettled"]
			rep.LoopTicks += c["loop_ticks"]
			rep.DeviceErrors += c["device_errors"]
			rep.Telemetry.add(c)
			rep.Degraded.add(c)
			rep.PlansOnBeacons += c["plans_from_beacons"]
			for _, reason := range []string{"stale", "expired", "invalid", "dropped"} {
				if v := c["plans_"+reason]; v > 0 {
					rep.PlansRefused[reason] += v
				}
			}
			for reason, v := range st.Rejections {
				if v > 0 {
					rep.RejectedMessages[reason] += v
				}
			}
		}
	}
	rep.Telemetry.perHome(len(r.c.homes), time.Since(r.started))
	rep.Degraded.PlanAgeMs = r.planAge.percentiles()
	rep.Degraded.PlanGapMs, rep.Degraded.PlansLate = r.rec.planGapReport()
	rep.SignalToSetpointMs, rep.FailoverMs = r.rec.latencies()
	rep.HomesWithoutValidPlanMax = r.withoutPlanMax
	var dipErrors []string
	rep.PrimaryResponseMs, rep.PrimaryResponseLate, dipErrors = r.dip.results()
	r.errors = append(r.errors, dipErrors...)
	r.reportAdmission(rep)
	r.attacks.report(rep)
	r.reportRegion(rep)
	var islandErrors []string
	rep.Island, islandErrors = r.outage.report(r.cfg)
	r.errors = append(r.errors, islandErrors...)
	for k, nb := range r.c.nbhds {
		if killedAt, doneAt, ok := r.rec.failoverTimes(nb.id); ok {
			r.series.failover(k, killedAt, doneAt)
		}
	}
	rep.Series = r.series.series()
	rep.ForecastSkill = r.forecast.report()
	r.reportFormation(rep)
	r.reportStartup(rep)
	r.cost.report(rep)
	rep.Errors = append(rep.Errors, r.errors...)
	return rep
}

// reportStartup fills the report's start-up figures: from the command to
// the last home listening, and to every neighborhood having had all its
// live homes on a plan (the last neighborhood's first such sample).
func (r *run) reportStartup(rep *Report) {
	rep.StartupS = r.t0.Sub(r.called).Seconds()
	if !r.allPlanned() {
		return // one never had: the figures stay 0
	}
	var last time.Time
	for _, m := range r.meters {
		if m.allPlannedAt.After(last) {
			last = m.allPlannedAt
		}
	}
	rep.AllPlannedS = last.Sub(r.called).Seconds()
	rep.AllPlannedCPUS = r.allPlannedCPU.Seconds()
}

// allPlanned reports whether every neighborhood has had all its live
// homes on a plan at one sample.
func (r *run) allPlanned() bool {
	for _, m := range r.meters {
		if m.allPlannedAt.IsZero() {
			return false
		}
	}
	return len(r.meters) > 0
}

// coverage waits up to two plan periods for every live home of nb to
// follow the neighborhood's newest committed plan (as of the moment it
// is called), and returns the share that does. Plans are published a
// few milliseconds after they are committed, so asking at one instant
// would count a plan still in flight as missed.
func (r *run) coverage(ctx context.Context, nb *neighborhood) float64 {
	live := nb.live()
	if len(live) == 0 {
		return 0
	}
	var latest gridmesh.Epoch
	for _, h := range live {
		if e := h.node.Status().CommittedEpoch; e.After(latest) {
			latest = e
		}
	}
	deadline := time.Now().Add(2 * r.cfg.Node.PlanPeriod)
	for {
		covered := 0
		for _, h := range live {
			if s := h.node.Status(); s.HasPlan && !latest.After(s.PlanEpoch) {
				covered++
			}
		}
		if covered == len(live) || time.Now().After(deadline) || !backoff.Sleep(ctx, r.cfg.SamplePeriod) {
			return float64(covered) / float64(len(live))
		}
	}
}

var _ node.Observer = (*recorder)(nil)
