package testnet

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/mesh"
)

// Attacks by members gone bad and by many identities, each a scenario.
// The attackers are real mesh hosts; flood, liar and replay hold a
// genuine certificate of the first neighborhood (a compromised box).
const (
	// ScenarioFlood: at Duration/4 an admitted member publishes
	// floodRate valid-looking telemetry reports a second for floodFor.
	ScenarioFlood = "flood"
	// ScenarioLiar: at Duration·3/8 an admitted member reports 50 kW of
	// battery flexibility it does not have and publishes forged plans,
	// every plan period until the end.
	ScenarioLiar = "liar"
	// ScenarioSybil: at Duration/2, sybilIdentities uncertified
	// identities each dial one home.
	ScenarioSybil = "sybil"
	// ScenarioReplay: an admitted member records the plans it receives
	// from the start; at Duration·5/8 one home of the neighborhood
	// restarts, and once it runs the member replays every plan recorded
	// and the operator's dr signal.
	ScenarioReplay = "replay"
)

const (
	// floodRate and floodFor: the flood's rate and length (a quarter of
	// the run when that is shorter: floodLength).
	floodRate = 5000
	floodFor  = 20 * time.Second
	// liarFlexW is the flexibility the liar claims, each way.
	liarFlexW gridmesh.W = 50_000
	// sybilIdentities and sybilWatch: how many identities dial in, and
	// how long each is watched for its disconnection. Why 5 s: admission
	// refuses a peer without a certificate within its timeout (1 s by
	// default); five times that on a loaded machine.
	sybilIdentities = 100
	sybilWatch      = 5 * time.Second
	// memberDialTimeout bounds an attacker's dial of one home.
	memberDialTimeout = 2 * time.Second
	// floodCalm: the window before the flood over which the city's CPU
	// use is taken for comparison.
	floodCalm = 5 * time.Second
)

// cpuSeconds is the CPU time (user and system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// attackMeanings are the report keys of these scenarios (figures.go).
var attackMeanings = map[string]string{
	"attacks.flood.published":           "reports the flooder published",
	"attacks.flood.homes_connected":     "homes the flooder reached",
	"attacks.flood.homes_graylisted":    "homes that graylisted the flooder during the flood",
	"attacks.flood.refused_over_rate":   "messages refused for their peer's or author's rate, every home",
	"attacks.flood.plan_delivery_rate":  "plans honest homes of the flooded neighborhood accepted during the flood, over one a plan period each",
	"attacks.flood.loop_ticks_missed":   "loop ticks missed during the flood, every home",
	"attacks.flood.loop_ticks":          "loop ticks during the flood, every home",
	"attacks.flood.city_cpu_before":     "the city process's CPU seconds a second over the 5 s before the flood (flooder apart when it is a process)",
	"attacks.flood.city_cpu_during":     "the same during the flood: what rejecting it cost the homes (and the flooder, when it runs in the city's process)",
	"attacks.flood.flooder_cpu_s":       "CPU seconds the flooder process used (0 when it runs in the city's process)",
	"attacks.flood.flooder_join_ms":     "how long the flooder took to start, dial and be admitted, ms",
	"attacks.flood.flood_ms":            "how long the flood ran, ms (20 s unless the run ended first)",
	"attacks.flood.process":             "whether the flooder ran as a process of its own (gridmesh attack-flood) rather than in the city's",
	"attacks.liar.reports_published":    "false reports (50 kW of flexibility) the liar published",
	"attacks.liar.reports_cut":          "reports homes cut to the plausible bound (control.Plausible)",
	"attacks.liar.plans_published":      "forged plans the liar published",
	"attacks.liar.forged_plans_applied": "plans with a rogue's or liar's marker a home applied (0 is right)",
	"attacks.liar.plan_delivery_rate":   "plans honest homes of its neighborhood accepted while it lied, over one a plan period each",
	"attacks.sybil.identities":          "uncertified identities that dialed in",
	"attacks.sybil.connected":           "of them, connections a home accepted before judging",
	"attacks.sybil.still_connected":     "of them, still connected after 5 s (0 is right)",
	"attacks.sybil.refused":             "peers refused for having no certificate, every home, during the attack",
	"attacks.sybil.disconnect_ms":       "per identity, from its connection to its disconnection by the home, ms",
	"attacks.replay.plans_replayed":     "recorded plans replayed after the restart",
	"attacks.replay.refused":            "replayed plans refused at validation (not-leader, stale-term), every home",
}

// AttacksReport is what the attack scenarios did and what the homes made
// of it; absent parts were not played.
type AttacksReport struct {
	Flood  *FloodReport  `json:"flood,omitempty"`
	Liar   *LiarReport   `json:"liar,omitempty"`
	Sybil  *SybilReport  `json:"sybil,omitempty"`
	Replay *ReplayReport `json:"replay,omitempty"`
	// WitnessLie and Revoke: attacks_members.go.
	WitnessLie *WitnessLieReport `json:"witness_lie,omitempty"`
	Revoke     *RevokeReport     `json:"revoke,omitempty"`
}

// FloodReport: see attackMeanings.
type FloodReport struct {
	Published        uint64  `json:"published"`
	HomesConnected   int     `json:"homes_connected"`
	HomesGraylisted  int     `json:"homes_graylisted"`
	RefusedOverRate  uint64  `json:"refused_over_rate"`
	PlanDeliveryRate float64 `json:"plan_delivery_rate"`
	LoopTicksMissed  uint64  `json:"loop_ticks_missed"`
	LoopTicks        uint64  `json:"loop_ticks"`
	// Process: the flooder ran as a process of its own
	// (Config.FlooderCommand), not in the city's.
	Process bool `json:"process"`
	// CityCPUBefore and CityCPUDuring: the city process's CPU seconds a
	// second over floodCalm before the flood and during it; FlooderCPU
	// the flooder process's CPU seconds (0 in the city's process).
	CityCPUBefore float64 `json:"city_cpu_before"`
	CityCPUDuring float64 `json:"city_cpu_during"`
	FlooderCPU    float64 `json:"flooder_cpu_s"`
	// FlooderJoinMs and FloodMs: see FlooderResult.
	FlooderJoinMs float64 `json:"flooder_join_ms"`
	FloodMs       float64 `json:"flood_ms"`
}

// LiarReport: see attackMeanings.
type LiarReport struct {
	ReportsPublished   uint64  `json:"reports_published"`
	ReportsCut         uint64  `json:"reports_cut"`
	PlansPublished     uint64  `json:"plans_published"`
	ForgedPlansApplied uint64  `json:"forged_plans_applied"`
	PlanDeliveryRate   float64 `json:"plan_delivery_rate"`
}

// SybilReport: see attackMeanings.
type SybilReport struct {
	Identities     int         `json:"identities"`
	Connected      int         `json:"connected"`
	StillConnected int         `json:"still_connected"`
	Refused        uint64      `json:"refused"`
	DisconnectMs   Percentiles `json:"disconnect_ms"`
}

// ReplayReport: see attackMeanings.
type ReplayReport struct {
	PlansReplayed uint64 `json:"plans_replayed"`
	Refused       uint64 `json:"refused"`
}

// attacks runs the attack scenarios of a run. Its reports are written by
// the scenarios' goroutines and read once stop returned.
type attacks struct {
	r      *run
	ctx    context.Context // the attacks': ends with the run or stop
	cancel context.CancelFunc
	// restarted receives the home the replay scenario restarted.
	restarted chan *home
	wg        sync.WaitGroup

	mu     sync.Mutex // guards the reports while the attacks run
	flood  *FloodReport
	liar   *LiarReport
	sybil  *SybilReport
	replay *ReplayReport
	// witnessLie and revoke: attacks_members.go.
	witnessLie *WitnessLieReport
	revoke     *RevokeReport
}

// attackEvents returns the events of the attack scenarios in the run's
// configuration, and sets r.attacks.
func (r *run) attackEvents() []event {
	var evs []event
	d := r.cfg.Duration
	a := &attacks{r: r, restarted: make(chan *home, 1)}
	start := func(f func(ctx context.Context)) func(context.Context, time.Time) {
		return func(ctx context.Context, _ time.Time) {
			if a.cancel == nil {
				var actx context.Context
				actx, a.cancel = context.WithCancel(ctx)
				a.ctx = actx
			}
			a.wg.Go(func() { f(a.ctx) })
		}
	}
	if r.cfg.has(ScenarioFlood) {
		evs = append(evs, event{at: d / 4, name: "flood", do: start(a.runFlood)})
	}
	if r.cfg.has(ScenarioLiar) {
		evs = append(evs, event{at: d * 3 / 8, name: "liar", do: start(a.runLiar)})
	}
	if r.cfg.has(ScenarioSybil) {
		evs = append(evs, event{at: d / 2, name: "sybil", do: start(a.runSybil)})
	}
	if r.cfg.has(ScenarioReplay) {
		evs = append(evs, event{at: d / 8, name: "replay recorder", do: start(a.runReplay)},
			event{at: d * 5 / 8, name: "replay restart", do: a.restartOne, fault: true})
	}
	evs = append(evs, a.membershipEvents(start)...)
	if len(evs) > 0 {
		r.attacks = a
	}
	return evs
}

// nbStatus sums counter and rejection figures over the live homes of nb
// (all neighborhoods when nb is nil).
func (a *attacks) sum(nb *neighborhood, counter string, reasons ...string) uint64 {
	var total uint64
	for _, n := range a.r.c.nbhds {
		if nb != nil && n != nb {
			continue
		}
		for _, h := range n.live() {
			s := h.node.Status()
			total += s.Counters[counter]
			for _, r := range reasons {
				total += s.Rejections[r]
			}
		}
	}
	return total
}

// deliveryRate is plans accepted over what one plan a period for every
// live home of nb over d would be.
func (a *attacks) deliveryRate(nb *neighborhood, accepted uint64, d time.Duration) float64 {
	want := float64(len(nb.live())) * d.Seconds() / a.r.cfg.Node.PlanPeriod.Seconds()
	if want <= 0 {
		return 0
	}
	return min(1, float64(accepted)/want)
}

// member opens a mesh host holding a genuine certificate of the first
// neighborhood, runs it until ctx ends, joins the neighborhood's topics
// and connects to every live home of it.
func (a *attacks) member(ctx context.Context, name string) (*mesh.Mesh, *mesh.Neighborhood, *selfLeader, error) {
	nb := a.r.c.nbhds[0]
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := issue(nb.priv, nb.id, id, gridmesh.HomeID(name), time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	var peers []peer.AddrInfo
	for _, h := range nb.live() {
		if info, err := addrInfo(h); err == nil {
			peers = append(peers, info)
		}
	}
	v := &selfLeader{}
	m, n, err := joinAsMember(ctx, &a.wg, memberSpec{
		network: a.r.cfg.Network, nbhd: nb.id, nbKey: nb.key, cert: cert, key: key, peers: peers,
		admissionTimeout: a.r.cfg.AdmissionTimeout, opts: a.r.c.meshOpts(),
	}, v, a.r.log.With("attacker", name))
	if err != nil {
		return nil, nil, nil, err
	}
	return m, n, v, nil
}

func (a *attacks) fail(what string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.r.log.Warn("attack could not run", "attack", what, "err", err)
}

// runFlood publishes floodRate reports a second for floodFor, watching
// which homes graylist the flooder.
func (a *attacks) runFlood(ctx context.Context) {
	nb := a.r.c.nbhds[0]
	rep := &FloodReport{}
	var id peer.ID
	var publish func(context.Context) (FlooderResult, error)
	// On the in-memory network the homes are reachable from this process
	// only: the flooder runs in it.
	if a.r.cfg.FlooderCommand != nil && a.r.c.mem == nil {
		spec, pid, err := a.flooderSpec(nb)
		if err != nil {
			a.fail("flood", err)
			return
		}
		id, rep.Process = pid, true
		publish = func(ctx context.Context) (FlooderResult, error) { return a.floodProcess(ctx, spec) }
	} else {
		m, n, _, err := a.member(ctx, "flooder")
		if err != nil {
			a.fail("flood", err)
			return
		}
		id = m.ID()
		publish = func(ctx context.Context) (FlooderResult, error) {
			var res FlooderResult
			for _, h := range nb.live() {
				if m.Host().Network().Connectedness(h.node.PeerID()) == network.Connected {
					res.Connected++
				}
			}
			fctx, cancel := context.WithTimeout(ctx, floodLength(a.r.cfg.Duration))
			defer cancel()
			res.Published = flood(fctx, n, nb.id, floodRate)
			return res, nil
		}
	}
	// The city's CPU use just before the flood, to set its use during
	// the flood against.
	calm0, at := cpuSeconds(), time.Now()
	if !backoff.Sleep(ctx, floodCalm) {
		return
	}
	rep.CityCPUBefore = (cpuSeconds() - calm0) / time.Since(at).Seconds()
	a.watchFlood(ctx, nb, id, rep, publish)
	a.mu.Lock()
	a.flood = rep
	a.mu.Unlock()
}

// watchFlood runs publish and, while it runs, watches which homes of nb
// are connected to the flooder id and which graylist it; it fills rep.
func (a *attacks) watchFlood(ctx context.Context, nb *neighborhood, id peer.ID, rep *FloodReport, publish func(context.Context) (FlooderResult, error)) {
	began, cpu0 := time.Now(), cpuSeconds()
	accepted0 := a.sum(nb, "plans_accepted")
	missed0, ticks0 := a.sum(nil, "loop_ticks_missed"), a.sum(nil, "loop_ticks")
	refused0 := a.sum(nil, "", mesh.ReasonPeerOverRate, mesh.ReasonAuthorOverRate)
	graylisted := map[string]bool{}
	done := make(chan struct{})
	var res FlooderResult
	var err error
	go func() {
		defer close(done)
		res, err = publish(ctx)
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(250 * time.Millisecond):
		}
		for _, h := range nb.live() {
			if gs := h.node.Status().GossipScores; gs != nil && slices.Contains(gs.Graylisted, id.String()) {
				graylisted[string(h.id)] = true
			}
		}
	}
	if err != nil {
		a.fail("flood", err)
	}
	d := time.Since(began)
	rep.CityCPUDuring = (cpuSeconds() - cpu0) / d.Seconds()
	rep.FlooderCPU = res.CPUSeconds
	rep.Published, rep.HomesConnected = res.Published, res.Connected
	rep.FlooderJoinMs, rep.FloodMs = res.JoinMs, res.FloodMs
	rep.HomesGraylisted = len(graylisted)
	rep.PlanDeliveryRate = a.deliveryRate(nb, a.sum(nb, "plans_accepted")-accepted0, d)
	rep.LoopTicksMissed, rep.LoopTicks = a.sum(nil, "loop_ticks_missed")-missed0, a.sum(nil, "loop_ticks")-ticks0
	rep.RefusedOverRate = a.sum(nil, "", mesh.ReasonPeerOverRate, mesh.ReasonAuthorOverRate) - refused0
}

// flood publishes rate/100 reports every 10 ms until ctx ends and
// returns how many went out. A tick it falls behind on is skipped, not
// made up: the flood never exceeds its rate.
func flood(ctx context.Context, n *mesh.Neighborhood, nbhd gridmesh.NeighborhoodID, rate int) uint64 {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seq uint64
	for {
		for range max(1, rate/100) {
			if ctx.Err() != nil {
				return seq
			}
			t := gridmesh.Telemetry{
				Version: gridmesh.WireVersion, Home: "flooder", Neighborhood: nbhd,
				Seq: seq + 1, AtMs: time.Now().UnixMilli(), NoReading: true,
			}
			if n.PublishTelemetry(ctx, t) == nil {
				seq++
			}
		}
		select {
		case <-ctx.Done():
			return seq
		case <-tick.C:
		}
	}
}

// runLiar reports liarFlexW of flexibility and publishes a forged plan
// every plan period until the attacks stop.
func (a *attacks) runLiar(ctx context.Context) {
	nb := a.r.c.nbhds[0]
	_, n, v, err := a.member(ctx, "liar")
	if err != nil {
		a.fail("liar", err)
		return
	}
	rep := &LiarReport{}
	began := time.Now()
	accepted0, cut0 := a.sum(nb, "plans_accepted"), a.sum(nb, "telemetry_implausible")
	sim := rogueAttack{cfg: a.r.cfg, start0: a.r.started}
	for seq := uint64(1); backoff.Sleep(ctx, a.r.cfg.Node.PlanPeriod); seq++ {
		t := gridmesh.Telemetry{
			Version: gridmesh.WireVersion, Home: "liar", Neighborhood: nb.id, Seq: seq, AtMs: time.Now().UnixMilli(),
			Battery: gridmesh.Flexibility{MinW: -liarFlexW, MaxW: liarFlexW, SoC: 0.5, CapacityWh: 100_000, ChargeWh: 50_000, DischargeWh: 50_000},
		}
		if n.PublishTelemetry(ctx, t) == nil {
			rep.ReportsPublished++
		}
		if leader, term := leaderOf(nb); leader != nil {
			v.term.Store(term)
			if n.PublishPlan(ctx, sim.plan(nb, term)) == nil {
				rep.PlansPublished++
			}
		}
		// Read while the homes run: stop comes after the run's end.
		rep.ReportsCut = a.sum(nb, "telemetry_implausible") - cut0
		rep.PlanDeliveryRate = a.deliveryRate(nb, a.sum(nb, "plans_accepted")-accepted0, time.Since(began))
		a.mu.Lock()
		a.liar = new(*rep)
		a.mu.Unlock()
	}
}

// runSybil dials sybilIdentities uncertified identities into the homes,
// each into one, twenty at a time, and times their disconnection.
func (a *attacks) runSybil(ctx context.Context) {
	var all []*home
	for _, nb := range a.r.c.nbhds {
		all = append(all, nb.live()...)
	}
	if len(all) == 0 {
		return
	}
	refused0 := a.sum(nil, "", mesh.ReasonAdmissionRefused+"/"+mesh.DetailNoCertificate)
	rep := &SybilReport{Identities: sybilIdentities}
	var mu sync.Mutex
	var disconnect []float64
	for batch := 0; batch < sybilIdentities && ctx.Err() == nil; batch += 20 {
		var wg sync.WaitGroup
		for i := batch; i < min(batch+20, sybilIdentities); i++ {
			wg.Go(func() {
				conn, ms, still := sybil(ctx, all[i%len(all)], a.r.c.transport())
				mu.Lock()
				defer mu.Unlock()
				if conn {
					rep.Connected++
				}
				if still {
					rep.StillConnected++
				} else if conn {
					disconnect = append(disconnect, ms)
				}
			})
		}
		wg.Wait()
	}
	rep.DisconnectMs = percentiles(disconnect)
	rep.Refused = a.sum(nil, "", mesh.ReasonAdmissionRefused+"/"+mesh.DetailNoCertificate) - refused0
	a.mu.Lock()
	a.sybil = rep
	a.mu.Unlock()
}

// sybil dials h from a fresh identity without a certificate and watches
// the connection for sybilWatch: whether it connected, how long until
// the home closed it, and whether it is still open at the end. It dials
// over transport (nil: TCP).
func sybil(ctx context.Context, h *home, transport libp2p.Option) (connected bool, disconnectMs float64, still bool) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return false, 0, false
	}
	host, err := libp2p.New(libp2p.Identity(key), libp2p.NoListenAddrs, libp2p.DisableRelay(), transport,
		libp2p.PrometheusRegisterer(prometheus.NewRegistry()), libp2p.DisableMetrics())
	if err != nil {
		return false, 0, false
	}
	defer host.Close()
	info, err := addrInfo(h)
	if err != nil {
		return false, 0, false
	}
	dctx, cancel := context.WithTimeout(ctx, memberDialTimeout)
	defer cancel()
	if host.Connect(dctx, info) != nil {
		return false, 0, false
	}
	at := time.Now()
	for time.Since(at) < sybilWatch && backoff.Sleep(ctx, 5*time.Millisecond) {
		if host.Network().Connectedness(info.ID) != network.Connected {
			return true, ms(time.Since(at)), false
		}
	}
	return true, 0, true
}

// runReplay records the first neighborhood's plans as a member until a
// home has restarted (restartOne), then replays every one of them.
func (a *attacks) runReplay(ctx context.Context) {
	nb := a.r.c.nbhds[0]
	m, n, v, err := a.member(ctx, "replayer")
	if err != nil {
		a.fail("replay", err)
		return
	}
	// While recording, it takes the real leader's plans as any member
	// does; it then replays them as their leader would.
	follow := func() (peer.ID, uint64) {
		if l, term := leaderOf(nb); l != nil {
			return l.node.PeerID(), term
		}
		return "", 0
	}
	v.follow.Store(&follow)
	defer v.follow.Store(nil)
	_ = m
	var plans []gridmesh.Plan
	var h *home
	rctx, stopRecording := context.WithCancel(ctx)
	go func() {
		select {
		case h = <-a.restarted:
		case <-ctx.Done():
		}
		stopRecording()
	}()
	for {
		p, _, err := n.NextPlan(rctx)
		if err != nil {
			break
		}
		if len(plans) < 10_000 {
			plans = append(plans, p)
		}
	}
	if ctx.Err() != nil || h == nil {
		return
	}
	// The restarted home is back once it has a plan again.
	for !h.alive.Load() || !h.node.Status().HasPlan {
		if !backoff.Sleep(ctx, a.r.cfg.SamplePeriod) {
			return
		}
	}
	refusals := []string{mesh.ReasonNotLeader, mesh.ReasonStaleTerm}
	refused0 := a.sum(nb, "", refusals...)
	rep := &ReplayReport{}
	v.follow.Store(nil)
	for _, p := range plans {
		v.term.Store(p.Epoch.Term)
		if n.PublishPlan(ctx, p) == nil {
			rep.PlansReplayed++
		}
	}
	backoff.Sleep(ctx, a.r.cfg.Node.PlanPeriod) // let validation finish
	rep.Refused = a.sum(nb, "", refusals...) - refused0
	a.mu.Lock()
	a.replay = rep
	a.mu.Unlock()
}

// restartOne kills a home of the first neighborhood that does not lead
// and runs it again, for the replay scenario. Called by the run's
// goroutine.
func (a *attacks) restartOne(ctx context.Context, _ time.Time) {
	nb := a.r.c.nbhds[0]
	leader, _ := leaderOf(nb)
	for _, h := range nb.live() {
		if h == leader {
			continue
		}
		a.r.c.kill(h)
		if err := a.r.c.run(ctx, h); err != nil {
			a.r.errors = append(a.r.errors, fmt.Sprintf("replay: restart %s: %v", h.id, err))
			return
		}
		a.restarted <- h
		return
	}
}

// stop ends the attacks and waits for them; safe on nil.
func (a *attacks) stop() {
	if a == nil || a.cancel == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
}

// report puts the attacks' figures in rep and says what went wrong;
// call after stop.
func (a *attacks) report(rep *Report) {
	if a == nil {
		return
	}
	rep.Attacks = &AttacksReport{Flood: a.flood, Liar: a.liar, Sybil: a.sybil, Replay: a.replay}
	a.membershipReport(rep.Attacks)
	cfg := a.r.cfg
	switch {
	case cfg.has(ScenarioFlood) && a.flood == nil:
		a.r.errors = append(a.r.errors, "flood: did not run")
	case a.flood != nil && a.flood.HomesGraylisted == 0:
		a.r.errors = append(a.r.errors, "flood: no home graylisted the flooder")
	}
	if a.liar != nil {
		a.liar.ForgedPlansApplied = a.r.rec.nonMemberPlans()
		if a.liar.ForgedPlansApplied > 0 {
			a.r.errors = append(a.r.errors, fmt.Sprintf("liar: %d forged plans applied", a.liar.ForgedPlansApplied))
		}
	} else if cfg.has(ScenarioLiar) {
		a.r.errors = append(a.r.errors, "liar: did not run")
	}
	if s := a.sybil; s != nil && s.StillConnected > 0 {
		a.r.errors = append(a.r.errors, fmt.Sprintf("sybil: %d identities still connected after %v", s.StillConnected, sybilWatch))
	} else if s == nil && cfg.has(ScenarioSybil) {
		a.r.errors = append(a.r.errors, "sybil: did not run")
	}
	if cfg.has(ScenarioReplay) && a.replay == nil {
		a.r.errors = append(a.r.errors, "replay: did not run")
	}
}

// floodLength is how long a run of duration d floods: floodFor, or a
// quarter of the run when that is shorter (the short runs of tests).
func floodLength(d time.Duration) time.Duration { return min(floodFor, d/4) }
