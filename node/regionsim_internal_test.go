package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// The regional simulation: n neighborhood leaders (hosts of their own,
// no homes behind them) on one in-memory network, each running the
// product's regional path: mesh.Region and mesh.Aggregates (the signals
// topic every home joins and the aggregates topic only leaders join,
// their validator and gossipsub with the product's parameters), the
// node's view of the region
// (regionState.take) and the dispatcher's step (Node.regionalTarget, which
// is control.DecideRegion and control.RegionalTarget), with aggregates
// made by control.NeighborhoodAggregate. An operator's host
// (OpenOperator) publishes one signed cut. The simulation measures how
// long one round of aggregates takes to reach every leader, how long the
// cut takes from publication to every leader's dispatch decision, and
// checks that every leader computes the same split.
//
// It runs in a testing/synctest bubble: its times are virtual, so they
// are the protocol's delays (gossip heartbeats, hops, queues) as if every
// leader had a machine of its own, whatever the load of the machine it
// runs on; what the machine pays shows in the CPU seconds it reports.
// make test runs it with 200 leaders and asserts behaviour only; make
// bench-region runs 2,000 and writes the figures (docs/BENCHMARKS.md,
// docs/SCALING.md).

var (
	simLeaders = flag.Int("regionsim.leaders", 50, "leaders in TestRegionSimulation (make bench-region: 2000)")
	simReport  = flag.String("regionsim.report", "", "write TestRegionSimulation's figures to this JSON file")
)

// The simulation's shape, and why.
const (
	// simDials: each leader dials 4 leaders started before it (the first
	// ones dial all before them), so the region is one random graph of
	// ~8 connections a leader: enough for gossipsub's mesh of D = 6
	// (Dlo 4) without the flood publisher reaching everyone directly.
	simDials = 4
	// simHomes: the homes each leader's aggregate sums (synthetic
	// states; no home runs), as in a region of 25-home neighborhoods.
	simHomes = 25
	// simCutPerHomeW: the cut asked per home, well inside every
	// neighborhood's capacity, so the split is proportional throughout.
	simCutPerHomeW gridmesh.W = 500
	// simPoll is how often (virtual time) the simulation looks whether a
	// phase is over; simPhaseLimit bounds a phase (virtual time).
	simPoll       = 50 * time.Millisecond
	simPhaseLimit = 120 * time.Second
	// simMeshSettle lets gossipsub graft its meshes once every leader is
	// connected: three heartbeats of the product's 1 s (virtual time).
	simMeshSettle = 3 * time.Second
)

// simLeader is one neighborhood's leader in the simulation. Its receiver
// goroutine owns node (its region view, its dispatch step) and lat; the
// atomics are read by the simulation's goroutine.
type simLeader struct {
	nbhd gridmesh.NeighborhoodID
	dial int // how many leaders it dialed
	m    *mesh.Mesh
	r    *mesh.Region
	a    *mesh.Aggregates
	node *Node
	// homes are the synthetic states its aggregate sums.
	homes []control.HomeState

	aggs      atomic.Int64 // distinct aggregates in its view
	completeT atomic.Int64 // virtual Unix ns its view first held every aggregate; 0: not yet
	lat       []time.Duration

	decidedT atomic.Int64 // virtual Unix ns of its dispatch decision on the cut; 0: none yet
	target   gridmesh.Target
	decision regionDecision
}

// simRegion is the whole simulation.
type simRegion struct {
	t       *testing.T
	leaders []*simLeader
	op      *Operator
	opPriv  ed25519.PrivateKey
	mem     *meshtest.MemNetwork
	wg      sync.WaitGroup // the receivers and the meshes' runners
}

// regionFigures are what the simulation measured, in docs/BENCHMARKS.md.
type regionFigures struct {
	Leaders          int     `json:"leaders"`
	ConnsPerLeader   float64 `json:"conns_per_leader_mean"`
	RegionPeersMin   int     `json:"region_peers_min"`
	StartCPUS        float64 `json:"start_cpu_s"`
	AggWindowMs      float64 `json:"aggregate_publication_window_ms"`
	AggDeliveryP50Ms float64 `json:"aggregate_delivery_p50_ms"`
	AggDeliveryP99Ms float64 `json:"aggregate_delivery_p99_ms"`
	AggDeliveryMaxMs float64 `json:"aggregate_delivery_max_ms"`
	// AggConvergedMs: from the first aggregate published until every
	// leader's view held every aggregate.
	AggConvergedMs float64 `json:"aggregates_converged_ms"`
	AggConverged   int     `json:"leaders_with_every_aggregate"`
	AggCPUS        float64 `json:"aggregates_cpu_s"`
	// Per leader over the aggregate round: region messages received
	// (first copies), duplicates dropped, messages sent; gossipsub RPCs
	// and their bytes both ways; message IDs in IHAVE and IWANT sent.
	AggReceived   float64 `json:"aggregate_round_received_per_leader"`
	AggDuplicates float64 `json:"aggregate_round_duplicates_per_leader"`
	AggSent       float64 `json:"aggregate_round_sent_per_leader"`
	AggRPCBytesTx float64 `json:"aggregate_round_rpc_bytes_sent_per_leader"`
	AggRPCBytesRx float64 `json:"aggregate_round_rpc_bytes_received_per_leader"`
	AggIHaveIDs   float64 `json:"aggregate_round_ihave_ids_per_leader"`
	AggIWantIDs   float64 `json:"aggregate_round_iwant_ids_per_leader"`
	// Idle gossip (heartbeats, IHAVE of nothing new) per leader per
	// second, measured over simMeshSettle before the aggregates.
	IdleRPCsPerS  float64 `json:"idle_rpcs_per_leader_per_s"`
	IdleBytesPerS float64 `json:"idle_rpc_bytes_per_leader_per_s"`

	SignalP50Ms float64           `json:"signal_to_decision_p50_ms"`
	SignalP99Ms float64           `json:"signal_to_decision_p99_ms"`
	SignalMaxMs float64           `json:"signal_to_decision_max_ms"`
	Decided     int               `json:"leaders_decided"`
	SameSplit   int               `json:"leaders_with_the_first_leaders_split"`
	SignalCPUS  float64           `json:"signal_cpu_s"`
	SignalRecv  float64           `json:"signal_received_per_leader"`
	SignalDups  float64           `json:"signal_duplicates_per_leader"`
	Rejections  map[string]uint64 `json:"rejections"`
	VirtualS    float64           `json:"virtual_s"`
	MaxRSSMB    float64           `json:"max_rss_mb"`
	TotalCPUS   float64           `json:"total_cpu_s"`
	// WallS is the real time the bubble took; every other time is
	// virtual.
	WallS float64 `json:"wall_s"`
}

// TestRegionSimulation runs the regional simulation with -regionsim.leaders
// leaders and checks what every leader must end with: every aggregate in
// its view, a dispatch decision on the cut, the same split as every other
// leader, and its own share of it in the target it dispatches. Its times
// are logged (and written with -regionsim.report), never asserted.
func TestRegionSimulation(t *testing.T) {
	n := *simLeaders
	seed := testSeed(t)
	var f regionFigures
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) { f = simulateRegion(t, n, seed) })
	f.WallS = time.Since(wall).Seconds()
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("figures:\n%s", b)
	if *simReport != "" {
		if err := os.WriteFile(*simReport, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// simulateRegion runs the phases in a synctest bubble and returns the
// figures; it fails t where a leader ends without what it must have.
func simulateRegion(t *testing.T, n int, seed uint64) regionFigures {
	rng := mrand.New(mrand.NewPCG(seed, 2))
	f := regionFigures{Leaders: n}
	t0, cpu0 := time.Now(), cpuSeconds()
	s := startRegion(t, n, rng)
	s.waitConnected()
	f.StartCPUS = cpuSeconds() - cpu0
	s.connectivity(&f)
	t.Logf("%d leaders connected (%.0f s of CPU)", n, f.StartCPUS)

	idle0, idleAt := s.wire(), time.Now()
	time.Sleep(simMeshSettle) // the timeline: gossipsub grafts its meshes
	idle := s.wire().minus(idle0)
	secs := time.Since(idleAt).Seconds() * float64(n)
	f.IdleRPCsPerS, f.IdleBytesPerS = float64(idle.RPCsSent)/secs, float64(idle.BytesSent)/secs

	s.aggregateRound(rng, &f)
	t.Logf("every view holds every aggregate (%.0f s of CPU)", f.AggCPUS)
	s.cut(&f)
	f.VirtualS = time.Since(t0).Seconds()
	f.TotalCPUS = cpuSeconds() - cpu0
	f.MaxRSSMB = maxRSSMB()
	f.Rejections = s.rejections()
	s.check(f)
	return f
}

// startRegion opens n leaders, each dialing up to simDials random
// leaders opened before it, and the operator's host, dialing simDials
// random leaders; all on one in-memory network, all running until the
// test ends.
func startRegion(t *testing.T, n int, rng *mrand.Rand) *simRegion {
	_, opPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &simRegion{t: t, mem: meshtest.NewMemNetwork(), opPriv: opPriv}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { s.stop(cancel) })
	for i := range n {
		s.leaders = append(s.leaders, s.openLeader(ctx, i, n, rng))
	}
	cfg := OperatorMeshConfig()
	cfg.Network, cfg.ListenAddrs = "sim", []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Bootstrap = s.someLeaders(n, simDials, rng)
	op, err := OpenOperator(ctx, cfg, opPriv, nil, mesh.WithTransport(s.mem.Transport()))
	if err != nil {
		t.Fatal(err)
	}
	s.op = op
	s.wg.Go(func() { _ = op.Run(ctx) })
	return s
}

// openLeader opens leader i of the n of the region, joins the region
// topic and starts its mesh and its receiver.
func (s *simRegion) openLeader(ctx context.Context, i, n int, rng *mrand.Rand) *simLeader {
	t := s.t
	cfg := mesh.DefaultConfig()
	cfg.Network = "sim"
	cfg.Region.OperatorKeys = []ed25519.PublicKey{s.opPriv.Public().(ed25519.PublicKey)}
	cfg.Bootstrap = s.someLeaders(i, simDials, rng)
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.Open(ctx, cfg, key, nil, mesh.WithTransport(s.mem.Transport()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.JoinRegion()
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.JoinAggregates()
	if err != nil {
		t.Fatal(err)
	}
	nbhd := gridmesh.NeighborhoodID(fmt.Sprintf("nb%04d", i))
	l := &simLeader{
		nbhd: nbhd, dial: min(i, simDials), m: m, r: r, a: a,
		node:  &Node{cfg: Config{Neighborhood: nbhd}},
		homes: simHomeStates(nbhd, rng),
	}
	l.node.region.joinedAt.Store(time.Now().UnixNano()) // warm by the cut: setup and the round take longer
	s.wg.Go(func() { _ = m.Run(ctx) })
	s.wg.Go(func() { l.receive(ctx, l.r, n) })
	s.wg.Go(func() { l.receive(ctx, l.a, n) })
	return l
}

// someLeaders returns the addresses of k random leaders among the first
// i (all of them when i <= k).
func (s *simRegion) someLeaders(i, k int, rng *mrand.Rand) []string {
	var out []string
	for _, j := range rng.Perm(i)[:min(i, k)] {
		out = append(out, s.leaders[j].m.P2PAddrs()...)
	}
	return out
}

// simHomeStates are the synthetic homes a leader's aggregate sums: a
// 5 kW battery each, at a random power and state of charge.
func simHomeStates(nbhd gridmesh.NeighborhoodID, rng *mrand.Rand) []control.HomeState {
	homes := make([]control.HomeState, simHomes)
	for i := range homes {
		p := gridmesh.W(rng.Float64()*4000 - 2000)
		soc := 0.2 + 0.6*rng.Float64()
		homes[i] = control.HomeState{
			Home:  gridmesh.HomeID(fmt.Sprintf("%s-h%02d", nbhd, i)),
			BaseW: 500,
			Battery: gridmesh.Flexibility{
				PowerW: p, MinW: -5000, MaxW: 5000, SoC: soc, CapacityWh: 10_000,
				ChargeWh: gridmesh.Wh(10_000 * (1 - soc)), DischargeWh: gridmesh.Wh(10_000 * soc),
			},
		}
	}
	return homes
}

// receive is one of the leader's region receivers (signals or
// aggregates), as the node's (receiveRegion): every accepted message goes
// into the view (regionState.take); a new signal step makes the
// dispatcher plan, here at once (Node.regionalTarget), and the decision
// is kept. It also records when each aggregate arrived and when the view
// first held all n. Only the aggregates' receiver writes lat, only the
// signals' target and decision.
func (l *simLeader) receive(ctx context.Context, src regionSource, n int) {
	for {
		msg, _, err := src.Next(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		newStep := l.node.region.take(msg, now)
		if a := msg.Aggregate; a != nil {
			l.lat = append(l.lat, now.Sub(time.UnixMilli(a.AtMs)))
			l.node.region.mu.Lock()
			held := len(l.node.region.aggs)
			l.node.region.mu.Unlock()
			l.aggs.Store(int64(held))
			if held == n && l.completeT.Load() == 0 {
				l.completeT.Store(now.UnixNano())
			}
		}
		if newStep {
			l.target = l.node.regionalTarget(gridmesh.Target{Seq: 1}, now)
			l.decision = l.node.region.decide(l.nbhd, now)
			l.decidedT.Store(now.UnixNano())
		}
	}
}

// waitConnected waits until every leader is connected on both topics to
// at least the leaders it dialed, and the operator to one.
func (s *simRegion) waitConnected() {
	s.waitFor("every leader connected to the leaders it dialed", func() bool {
		for _, l := range s.leaders {
			if len(l.r.Peers()) < l.dial || len(l.a.Peers()) < l.dial {
				return false
			}
		}
		return s.op.Homes() > 0
	})
}

// waitFor polls cond every simPoll of virtual time, failing the test
// after simPhaseLimit.
func (s *simRegion) waitFor(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(simPhaseLimit)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("%v of virtual time without %s", simPhaseLimit, what)
		}
		time.Sleep(simPoll)
	}
}

// connectivity records the connections and region peers per leader.
func (s *simRegion) connectivity(f *regionFigures) {
	conns := 0
	f.RegionPeersMin = len(s.leaders)
	for _, l := range s.leaders {
		conns += l.m.ConnectedPeers()
		f.RegionPeersMin = min(f.RegionPeersMin, len(l.a.Peers()))
	}
	f.ConnsPerLeader = float64(conns) / float64(len(s.leaders))
}

// simTraffic sums the leaders' region traffic (both topics: during the
// aggregate round only aggregates flow, during the cut only the signal)
// and gossipsub RPCs.
type simTraffic struct {
	region mesh.TopicTraffic
	mesh.WireTraffic
}

func (s *simRegion) wire() simTraffic {
	var out simTraffic
	for _, l := range s.leaders {
		w := l.m.Wire()
		for _, kind := range []string{mesh.TopicRegion, mesh.TopicAggregates} {
			r := l.m.Traffic()[kind]
			out.region.Received += r.Received
			out.region.Duplicates += r.Duplicates
			out.region.Sent += r.Sent
			out.region.SendDropped += r.SendDropped
		}
		out.RPCsSent += w.RPCsSent
		out.RPCsReceived += w.RPCsReceived
		out.BytesSent += w.BytesSent
		out.BytesReceived += w.BytesReceived
		out.IHaveIDs += w.IHaveIDs
		out.IWantIDs += w.IWantIDs
		out.Grafts += w.Grafts
		out.Prunes += w.Prunes
	}
	return out
}

// minus is a-b, counter by counter.
func (a simTraffic) minus(b simTraffic) simTraffic {
	return simTraffic{
		region: mesh.TopicTraffic{
			Received: a.region.Received - b.region.Received, Duplicates: a.region.Duplicates - b.region.Duplicates,
			Sent: a.region.Sent - b.region.Sent, SendDropped: a.region.SendDropped - b.region.SendDropped,
		},
		WireTraffic: mesh.WireTraffic{
			RPCsSent: a.RPCsSent - b.RPCsSent, RPCsReceived: a.RPCsReceived - b.RPCsReceived,
			BytesSent: a.BytesSent - b.BytesSent, BytesReceived: a.BytesReceived - b.BytesReceived,
			IHaveIDs: a.IHaveIDs - b.IHaveIDs, IWantIDs: a.IWantIDs - b.IWantIDs,
			Grafts: a.Grafts - b.Grafts, Prunes: a.Prunes - b.Prunes,
		},
	}
}

// aggregateRound has every leader publish its aggregate once, at a
// random whole millisecond of one AggregatePeriod (leaders lead from
// different times, so their periods are spread), as the node's publisher
// does (control.NeighborhoodAggregate, Aggregates.Publish), and
// waits until every view holds every aggregate.
func (s *simRegion) aggregateRound(rng *mrand.Rand, f *regionFigures) {
	before, cpu0 := s.wire(), cpuSeconds()
	start := time.Now()
	var published sync.WaitGroup
	for i, l := range s.leaders {
		offset := time.Duration(rng.Int64N(control.AggregatePeriod.Milliseconds())) * time.Millisecond
		published.Go(func() {
			time.Sleep(offset)
			now := time.Now()
			agg, ok := control.NeighborhoodAggregate(l.nbhd, gridmesh.Epoch{Term: 1, Index: 1}, now, l.homes, 0)
			if !ok {
				s.t.Errorf("leader %d: no aggregate", i)
				return
			}
			if err := l.a.Publish(context.Background(), agg); err != nil {
				s.t.Errorf("leader %d: %v", i, err)
			}
		})
	}
	published.Wait()
	f.AggWindowMs = ms(time.Since(start))
	s.waitFor("every view holding every aggregate", func() bool {
		for _, l := range s.leaders {
			if l.completeT.Load() == 0 {
				return false
			}
		}
		return true
	})
	var last int64
	var lat []time.Duration
	for _, l := range s.leaders {
		last = max(last, l.completeT.Load())
		lat = append(lat, l.lat...)
		if l.aggs.Load() == int64(len(s.leaders)) {
			f.AggConverged++
		}
	}
	f.AggConvergedMs = ms(time.Unix(0, last).Sub(start))
	f.AggDeliveryP50Ms, f.AggDeliveryP99Ms, f.AggDeliveryMaxMs = percentiles(lat)
	f.AggCPUS = cpuSeconds() - cpu0
	s.perLeader(s.wire().minus(before), f)
}

// perLeader records a round's traffic per leader.
func (s *simRegion) perLeader(d simTraffic, f *regionFigures) {
	n := float64(len(s.leaders))
	f.AggReceived, f.AggDuplicates, f.AggSent = float64(d.region.Received)/n, float64(d.region.Duplicates)/n, float64(d.region.Sent)/n
	f.AggRPCBytesTx, f.AggRPCBytesRx = float64(d.BytesSent)/n, float64(d.BytesReceived)/n
	f.AggIHaveIDs, f.AggIWantIDs = float64(d.IHaveIDs)/n, float64(d.IWantIDs)/n
}

// cut has the operator publish one signed cut of simCutPerHomeW per home,
// in force at once for an hour, and waits until every leader decided on
// it.
func (s *simRegion) cut(f *regionFigures) {
	before, cpu0 := s.wire(), cpuSeconds()
	n := len(s.leaders)
	at := time.Now()
	_, err := s.op.Publish(context.Background(), gridmesh.Signal{
		ID: "cut-1", Kind: gridmesh.SignalCutImport,
		StartMs: at.UnixMilli(), EndMs: at.Add(time.Hour).UnixMilli(),
		AmountW: simCutPerHomeW * simHomes * gridmesh.W(n),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.waitFor("every leader deciding on the cut", func() bool {
		for _, l := range s.leaders {
			if l.decidedT.Load() == 0 {
				return false
			}
		}
		return true
	})
	var lat []time.Duration
	for _, l := range s.leaders {
		lat = append(lat, time.Unix(0, l.decidedT.Load()).Sub(at))
		f.Decided++
	}
	f.SignalP50Ms, f.SignalP99Ms, f.SignalMaxMs = percentiles(lat)
	f.SignalCPUS = cpuSeconds() - cpu0
	d := s.wire().minus(before)
	f.SignalRecv, f.SignalDups = float64(d.region.Received)/float64(n), float64(d.region.Duplicates)/float64(n)
	first := s.leaders[0].decision
	for _, l := range s.leaders {
		if len(l.decision.Signals) == 1 && len(first.Signals) == 1 &&
			slices.Equal(l.decision.Signals[0].Shares, first.Signals[0].Shares) {
			f.SameSplit++
		}
	}
}

// check fails the test where a leader ended without what it must have:
// every aggregate, a decision, the common split, and its own share in
// the target it dispatches with the cut's regional Seq.
func (s *simRegion) check(f regionFigures) {
	n := len(s.leaders)
	if f.AggConverged != n || f.Decided != n || f.SameSplit != n {
		s.t.Errorf("of %d leaders: %d held every aggregate, %d decided, %d split as the first", n, f.AggConverged, f.Decided, f.SameSplit)
	}
	for i, l := range s.leaders {
		d := l.decision
		if len(d.Signals) != 1 {
			s.t.Errorf("leader %d: %d signals in force, want the cut", i, len(d.Signals))
			continue
		}
		sig := d.Signals[0]
		if len(sig.Shares) != n || sig.ShortfallW > 0 {
			s.t.Errorf("leader %d: the cut split among %d neighborhoods with %v W short, want all %d and none short", i, len(sig.Shares), sig.ShortfallW, n)
		}
		want := gridmesh.Target{Seq: 1 + RegionalSeq(sig.Seq, false), ImportW: -sig.ShareW}
		if l.target != want || sig.ShareW <= 0 {
			s.t.Errorf("leader %d: dispatches %+v, want its share %+v", i, l.target, want)
		}
	}
	if refused := f.Rejections; len(refused) > 0 {
		s.t.Errorf("messages refused: %v", refused)
	}
}

// rejections sums every refusal the leaders counted, region and mesh.
func (s *simRegion) rejections() map[string]uint64 {
	out := map[string]uint64{}
	for _, l := range s.leaders {
		for k, v := range l.r.Rejections() {
			if v > 0 {
				out["region/"+k] += v
			}
		}
		for k, v := range l.m.Rejections() {
			if v > 0 {
				out["mesh/"+k] += v
			}
		}
	}
	return out
}

// stop ends every runner and receiver, then closes the hosts.
func (s *simRegion) stop(cancel context.CancelFunc) {
	cancel()
	for _, l := range s.leaders {
		_ = l.a.Close()
		_ = l.r.Close()
	}
	if s.op != nil {
		_ = s.op.Close()
	}
	for _, l := range s.leaders {
		_ = l.m.Close()
	}
	s.wg.Wait()
}

// percentiles returns the p50, p99 and max of d in milliseconds.
func percentiles(d []time.Duration) (p50, p99, maxMs float64) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	at := func(q float64) float64 { return ms(d[min(len(d)-1, int(q*float64(len(d))))]) }
	return at(0.50), at(0.99), ms(d[len(d)-1])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuSeconds is the CPU time the process has used, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// maxRSSMB is the process's peak resident set, in MB.
func maxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
