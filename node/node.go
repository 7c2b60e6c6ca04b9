package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/node/dashboard"
)

// planQueue bounds the plans waiting for the device loop. Plans arrive at
// about one per PlanPeriod, so a full queue means the loop is stuck; the
// receiver then drops the plan (the leader re-sends a newer one every
// period) and counts the drop.
const planQueue = 8

// Node is one home. Create it with New and run it with Run.
type Node struct {
	// renewed is the certificate RenewCertificate took last, presented
	// by a network opened anew instead of cfg's (renew.go).
	renewed atomic.Pointer[gridmesh.Membership]

	cfg  Config
	deps Deps
	id   peer.ID
	log  *slog.Logger
	now  func() time.Time

	ready     chan struct{} // closed once the network first opened
	readyOnce sync.Once     // the network supervisor's, around close(ready)
	running   atomic.Bool   // Run was called
	// rejoinCh tells the device loop the home left its cluster for
	// another (formation.go's merge rule); size 1, coalescing.
	rejoinCh chan struct{}
	// reportNow asks for a telemetry report before the next period: what
	// the home announces about its cluster changed (formation.go). Size
	// 1; a pending request is enough.
	reportNow chan struct{}
	// announceUntil (Unix ns) is when this home may send its reports to
	// its leader alone again: until then, a home of the neighborhood
	// newly connected to it hears every report on the topic
	// (telemetry.go).
	announceUntil atomic.Int64
	// founder is the home this one would have found the cluster, while
	// it has no Raft state (formation.go); telemetry announces it.
	founder atomic.Value                   // string
	members atomic.Pointer[membershipView] // status.go's cache
	// pauseReq is a requested pause (ns) not yet begun; paused is when
	// the newest pause ends, holding the network-facing goroutines until
	// then; pauseCh wakes the pauser goroutine (size 1, coalescing).
	// pause.go.
	pauseReq atomic.Int64
	paused   atomic.Pointer[time.Time]
	pauseCh  chan struct{}

	// targetMu guards target; targetCh wakes the dispatcher (coalescing,
	// size 1: one pending wake-up is enough).
	targetMu sync.Mutex
	target   *gridmesh.Target
	targetCh chan struct{}
	// revokedCh wakes the dispatcher when this home began refusing a
	// revoked peer: a leader beacons the homes outside the Raft
	// configuration at once, carrying the revocation (beacon.go).
	revokedCh chan struct{}

	// mesh, group and nbhd are the open network, for the network's own
	// goroutines (runComponents): the network supervisor writes them
	// only while none of those runs, before it starts them and after
	// they have all returned. Any other goroutine (Status, Pause, Leave,
	// P2PAddrs: whatever an HTTP request or a test calls) loads up, nil
	// while the network is down.
	mesh  *mesh.Mesh
	group *consensus.Group
	nbhd  *mesh.Neighborhood
	up    atomic.Pointer[network]
	// meshListen is where the network listened when it last opened, to
	// listen there again; the network supervisor's.
	meshListen []string

	stats   stats           // owned by the goroutines that write each field; see stats
	history forecastHistory // the dispatch goroutine's (forecast.go)
	// islandHistory is the critical load and PV the rationing forecast
	// reads (island.go); the dispatch goroutine's.
	islandHistory forecastHistory
	// islandSince is the device time this leader first planned its
	// neighborhood islanded in the outage now on (zero: not islanded),
	// for the outage's outlook (island.go); the dispatch goroutine's.
	islandSince time.Time
	// gridLost is the device time, Unix ns, at which this home's loop
	// saw the grid go in the outage now on (0: the grid is there or no
	// reading yet); the device loop writes it, the dispatch goroutine
	// reads it: a leader elected mid-outage knows how long it has lasted
	// from its own meter.
	gridLost atomic.Int64
	// islandShare is what this leader has done with islandHistory's
	// summary in the log (islandhistory.go); the dispatch goroutine's.
	islandShare islandShare
	// clocks0 is the first reading of the wall and device clocks the
	// dispatch goroutine took, for the devices' rate (deviceRate); the
	// dispatch goroutine's.
	clocks0  struct{ wall, dev time.Time }
	region   regionState  // the region's view (region.go)
	httpAddr atomic.Value // string: the status endpoint's bound address
	revoked  revokedPeers // the peers this home refuses for a revocation (revocation.go)
	// httpListener is the status endpoint's listener while it serves,
	// written by the endpoint's supervisor; tests close it to see the
	// endpoint restart.
	httpListener atomic.Pointer[net.Listener]
	// metrics and energy are the Prometheus registry and the energy
	// totals (metrics.go, energy.go).
	metrics *metrics
	energy  *energyMeter
	// owner keeps the owner's settings (owner.go).
	owner *owner
	// carried sums what every network and region handle the home opened
	// refused (carried.go).
	carried carried
	// planLog serves GET /plans: plans applied, committed and published
	// (planlog.go).
	planLog planLog
	// table is the telemetry table of the network that is up (or was
	// last), stored by the network supervisor; listening is whether the
	// home subscribes to its neighbors' reports, written by the
	// telemetry listener. Both for Status and the page (feeder.go).
	table     atomic.Pointer[telemetryTable]
	listening atomic.Bool
	// energyDays is the span "energy today" covers (dashboard.go); dash
	// serves the home's page.
	energyDays energyDays
	dash       *dashboard.Handler
}

// New validates the configuration and allocates the node. It starts
// nothing: Run does.
func New(cfg Config, deps Deps) (*Node, error) {
	if deps.Key == nil {
		return nil, errors.New("node: Deps.Key is required")
	}
	if deps.Battery == nil || deps.Meter == nil {
		return nil, errors.New("node: Deps.Battery and Deps.Meter are required")
	}
	id, err := peer.IDFromPrivateKey(deps.Key)
	if err != nil {
		return nil, fmt.Errorf("node: peer ID from key: %w", err)
	}
	cfg.Raft.Neighborhood = cfg.Neighborhood
	cfg.Raft.LocalID = id.String()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Home, err)
	}
	if err := cfg.Raft.Validate(); err != nil {
		return nil, fmt.Errorf("node %s: raft: %w", cfg.Home, err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	n := &Node{
		cfg:       cfg,
		deps:      deps,
		id:        id,
		log:       log.With("component", "node", "home", string(cfg.Home), "nbhd", string(cfg.Neighborhood)),
		now:       now,
		ready:     make(chan struct{}),
		targetCh:  make(chan struct{}, 1),
		revokedCh: make(chan struct{}, 1),
		rejoinCh:  make(chan struct{}, 1),
		reportNow: make(chan struct{}, 1),
		pauseCh:   make(chan struct{}, 1),
		stats:     stats{restarts: newRestartCounters()},
	}
	n.metrics = newMetrics(n)
	n.energy = newEnergyMeter(cfg.DataDir, n.log)
	n.dash = newDashboard(n)
	n.owner = newOwner(cfg.DataDir, n.log)
	return n, nil
}

// PeerID is the home's libp2p peer ID, also its Raft server ID.
func (n *Node) PeerID() peer.ID { return n.id }

// Home is the home's ID.
func (n *Node) Home() gridmesh.HomeID { return n.cfg.Home }

// Ready is closed once the home's host first listens and its Raft group
// first opened. It stays closed while a failed network restarts.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// P2PAddrs returns the home's dialable multiaddrs (with /p2p/<id>), for
// other homes' bootstrap lists. Empty before Ready and while the network
// restarts.
func (n *Node) P2PAddrs() []string {
	if nw := n.up.Load(); nw != nil {
		return nw.mesh.P2PAddrs()
	}
	return nil
}

// SetTarget sets the feeder import the neighborhood is asked for. Every
// home keeps it; the leader dispatches to it at once and every period. A
// target with a Seq not above the current one is ignored.
func (n *Node) SetTarget(t gridmesh.Target) {
	n.targetMu.Lock()
	if n.target != nil && t.Seq <= n.target.Seq {
		n.targetMu.Unlock()
		return
	}
	n.target = &t
	n.targetMu.Unlock()
	select {
	case n.targetCh <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Target returns the current target, if one was set.
func (n *Node) Target() (gridmesh.Target, bool) {
	n.targetMu.Lock()
	defer n.targetMu.Unlock()
	if n.target == nil {
		return gridmesh.Target{}, false
	}
	return *n.target, true
}

// ErrRunTwice is returned by a second call of Run: a Node runs once.
var ErrRunTwice = errors.New("node: Run called twice")

// Run runs the home until ctx ends. It first claims the home's ports
// (supervise.go): a port another process holds fails Run at once, naming
// it, before any device is touched. Then the device loop runs in Run's
// goroutine until ctx ends, and for nothing else: the status endpoint and
// the network (host, Raft group, topics and the goroutines that use them)
// run beside it, each supervised apart. While the network cannot open
// (counted as network_open_failures), or after one of its components or
// the endpoint failed (counted per component in component_restarts), the
// failure is logged and the part is tried again with jittered backoff;
// meanwhile the home keeps its devices safe on its own. Run returns an
// error only for a port taken at start, for a device loop that fails
// itself (its devices cannot be set up), or ErrRunTwice. On return every
// goroutine Run started has exited, and the network was closed intake
// first (topics), then Raft, then the host.
func (n *Node) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return ErrRunTwice
	}
	loop, err := control.NewLoop(control.LoopConfig{Home: n.cfg.Home, Neighborhood: n.cfg.Neighborhood, InitialAimW: n.cfg.InitialAimW})
	if err != nil {
		return fmt.Errorf("node %s: %w", n.cfg.Home, err)
	}
	ln, err := n.claimPorts()
	if err != nil {
		return fmt.Errorf("node %s: %w", n.cfg.Home, err)
	}
	if err := n.owner.open(); err != nil {
		if ln != nil {
			_ = ln.Close() // the home does not start: nothing to serve
		}
		return fmt.Errorf("node %s: %w", n.cfg.Home, err)
	}
	plans := make(chan gridmesh.Plan, planQueue)
	// The supervised parts stop with ctx, or when the loop returns: a
	// home whose loop failed is of no use to its neighborhood either.
	partsCtx, stopParts := context.WithCancel(ctx)
	var wg sync.WaitGroup
	saveEnergy := n.startEnergy(partsCtx, &wg)
	wg.Go(func() { n.runOwnerSettler(partsCtx) })      // owner.go
	if err := n.startHass(partsCtx, &wg); err != nil { // hass.go; checked by Validate, so never
		n.log.Error("Home Assistant publisher not started", "err", err)
	}
	if ln != nil {
		wg.Go(func() { n.supervise(partsCtx, componentHTTP, n.httpRunner(ln)) })
	}
	wg.Go(func() {
		n.supervise(partsCtx, componentNetwork, func(ctx context.Context) error { return n.runNetwork(ctx, plans) })
	})
	lr := &loopRunner{n: n, loop: loop, plans: plans}
	err = lr.run(ctx)
	stopParts()
	wg.Wait()
	saveEnergy()
	if err == nil || ctx.Err() != nil {
		return nil // stopped from outside
	}
	return fmt.Errorf("node %s: device loop: %w", n.cfg.Home, err)
}

// network is one opening of the home's host, Raft group and
// neighborhood topics.
type network struct {
	mesh  *mesh.Mesh
	group *consensus.Group
	nbhd  *mesh.Neighborhood
}

// close closes the network in ipfs-cluster's order: intake (the topics)
// first, then Raft, then the host.
func (nw *network) close() error {
	return errors.Join(nw.nbhd.Close(), nw.group.Close(), nw.mesh.Close())
}

// Backoff between attempts to open the network. Why these: a data
// directory another process still holds is usually free again in a
// second; a home whose network stays down retries twice a minute, loudly
// enough to be seen in its log, quietly enough not to spin.
const (
	openRetryMin = time.Second
	openRetryMax = 30 * time.Second
)

// runNetwork opens the host, the Raft group and the neighborhood's
// topics, retrying until they open or ctx ends, then runs the network's
// components until ctx ends or one fails (its error names it: see
// componentError), and closes the network again.
func (n *Node) runNetwork(ctx context.Context, plans chan<- gridmesh.Plan) error {
	nw, err := n.openNetworkRetrying(ctx)
	if err != nil {
		return err
	}
	// The network's goroutines read these fields without a lock: they
	// are written only here, before the goroutines start and after they
	// have all returned. Everyone else loads n.up.
	n.mesh, n.group, n.nbhd = nw.mesh, nw.group, nw.nbhd
	n.meshListen = boundAddrs(nw.mesh)
	n.carried.networkOpened(nw)
	n.up.Store(nw)
	n.readyOnce.Do(func() { close(n.ready) })
	n.log.Info("home up", "peer", n.id.String(), "addrs", nw.mesh.Addrs())
	err = n.runComponents(ctx, plans)
	n.up.Store(nil)
	if cerr := nw.close(); cerr != nil {
		n.log.Debug("closing the network", "err", cerr)
	}
	return err
}

// openNetworkRetrying opens the network, retrying with jittered backoff
// until it opens or ctx ends.
func (n *Node) openNetworkRetrying(ctx context.Context) (*network, error) {
	retry := backoff.New(openRetryMin, openRetryMax)
	for {
		nw, err := n.openNetwork(ctx)
		if err == nil {
			return nw, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		n.stats.networkOpenFailures.Add(1)
		wait := retry.Next()
		n.log.Warn("network not up; the home runs on its own meanwhile", "err", err, "retry_in", wait)
		if !backoff.Sleep(ctx, wait) {
			return nil, ctx.Err()
		}
	}
}

// runComponents runs the network's components until ctx ends (nil) or
// one of them fails or stops on its own (a *componentError naming it):
// they share one host, Raft group and set of topics, so the first
// failure stops them all and the network is opened anew.
func (n *Node) runComponents(ctx context.Context, plans chan<- gridmesh.Plan) error {
	eg, ctx := errgroup.WithContext(ctx)
	run := func(name string, f func(context.Context) error) {
		eg.Go(func() error {
			err := f(ctx)
			if ctx.Err() != nil {
				return nil // stopped: from outside, or by another's failure
			}
			if err == nil {
				err = errStopped
			}
			return &componentError{name: name, err: err}
		})
	}
	table := newTelemetryTable()
	n.table.Store(table)
	run(componentMesh, n.mesh.Run)
	run(componentTelemetryPublisher, n.publishTelemetry)
	run(componentPlanReceiver, func(ctx context.Context) error { return n.receivePlans(ctx, plans) })
	// Every home runs the telemetry receiver and the dispatcher: any home
	// may be made a voter and lead. The receiver reads only while the home
	// listens (listenTelemetry: no Raft state yet, a voter, or long
	// leaderless); the dispatcher plans only while this home leads.
	run(componentTelemetryReceiver, func(ctx context.Context) error { return n.receiveTelemetry(ctx, table) })
	run(componentTelemetryListener, n.listenTelemetry)
	run(componentDispatcher, func(ctx context.Context) error { return n.dispatch(ctx, table) })
	// Signals and aggregates (region.go).
	run(componentRegion, func(ctx context.Context) error { return n.runRegion(ctx, table) })
	run(componentPauser, n.runPauses)
	run(componentRevocations, n.enforceRevocations) // revocation.go
	if len(n.cfg.Raft.Servers) == 0 {
		run(componentFormation, func(ctx context.Context) error { return n.organize(ctx, table) })
	}
	return eg.Wait()
}

// openNetwork opens the host, the Raft group and the topics, closing
// whatever it opened when a later step fails. A network opened before
// listens where it did (a port of 0 keeps the port it was given), so the
// homes that knew it find it again, or where the configuration says when
// it cannot.
func (n *Node) openNetwork(ctx context.Context) (*network, error) {
	cfg := n.meshConfig()
	if n.meshListen != nil {
		cfg.ListenAddrs = n.meshListen
	}
	opts := append(slices.Clip(n.deps.Mesh), mesh.WithRegisterer(n.metrics.reg))
	m, err := mesh.Open(ctx, cfg, n.deps.Key, n.log, opts...)
	if err != nil && n.meshListen != nil {
		m, err = mesh.Open(ctx, n.meshConfig(), n.deps.Key, n.log, opts...)
	}
	if err != nil {
		return nil, err
	}
	raftCfg := n.cfg.Raft
	raftCfg.Admit = m.Admitted // everyone, unless cfg.Mesh.Admission is set
	// Plans on the leader's beacons go where the topic's go, once the
	// neighborhood is joined (a beacon before that is a plan missed, and
	// the next comes a period later).
	var joined atomic.Pointer[mesh.Neighborhood]
	raftCfg.BeaconPlan = func(from peer.ID, plan []byte) {
		if nb := joined.Load(); nb != nil {
			_ = nb.DeliverPlan(from, plan) // a refusal is counted there
		}
	}
	g, err := consensus.Open(raftCfg, consensus.NewHostTransport(m.Host()), n.log)
	if err != nil {
		return nil, errors.Join(err, m.Close())
	}
	m.HandleRevocations(n.cfg.Neighborhood, takeForwarded(n, g))
	nb, err := m.JoinNeighborhood(n.cfg.Neighborhood, leaderView{g}, true)
	if err != nil {
		return nil, errors.Join(err, g.Close(), m.Close())
	}
	joined.Store(nb)
	return &network{mesh: m, group: g, nbhd: nb}, nil
}

// boundAddrs returns the host's listen addresses as bound (a port of 0
// replaced by the port it was given).
func boundAddrs(m *mesh.Mesh) []string {
	addrs := m.Host().Network().ListenAddresses()
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// leaderView adapts the Raft group to mesh.LeaderView: Raft names servers
// by the peer ID's string form.
type leaderView struct{ g *consensus.Group }

func (v leaderView) Leader() (peer.ID, uint64) {
	id, term := v.g.Leader()
	if id == "" {
		return "", term
	}
	p, err := peer.Decode(id)
	if err != nil {
		return "", term
	}
	return p, term
}
