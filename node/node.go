package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
)

// planQueue bounds the plans waiting for the device loop. Plans arrive at
// about one per PlanPeriod, so a full queue means the loop is stuck; the
// receiver then drops the plan (the leader re-sends a newer one every
// period) and counts the drop.
const planQueue = 8

// Node is one home. Create it with New and run it with Run.
type Node struct {
	cfg  Config
	deps Deps
	id   peer.ID
	log  *slog.Logger
	now  func() time.Time

	ready chan struct{} // closed once the host listens and the group is open
	// rejoinCh tells the device loop the home left its cluster for
	// another (formation.go's merge rule); size 1, coalescing.
	rejoinCh chan struct{}
	// reportNow asks for a telemetry report before the next period: what
	// the home announces about its cluster changed (formation.go). Size
	// 1; a pending request is enough.
	reportNow chan struct{}
	// founder is the home this one would have found the cluster, while
	// it has no Raft state (formation.go); telemetry announces it.
	founder atomic.Value                   // string
	members atomic.Pointer[membershipView] // status.go's cache
	// pauseReq is a requested pause (ns) not yet begun; paused, while
	// set, holds the network-facing goroutines until closed (pause.go).
	pauseReq atomic.Int64
	paused   atomic.Pointer[chan struct{}]

	// targetMu guards target; targetCh wakes the dispatcher (coalescing,
	// size 1: one pending wake-up is enough).
	targetMu sync.Mutex
	target   *gridmesh.Target
	targetCh chan struct{}

	// Set once in Run before ready is closed; read-only after.
	mesh  *mesh.Mesh
	group *consensus.Group
	nbhd  *mesh.Neighborhood

	stats    stats           // owned by the goroutines that write each field; see stats
	history  forecastHistory // the dispatch goroutine's (forecast.go)
	region   regionState     // the region's view (region.go)
	httpAddr atomic.Value    // string: the status endpoint's bound address
	planLog  planLog         // GET /plans: plans applied, committed, published (planlog.go)
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
	return &Node{
		cfg:       cfg,
		deps:      deps,
		id:        id,
		log:       log.With("component", "node", "home", string(cfg.Home), "nbhd", string(cfg.Neighborhood)),
		now:       now,
		ready:     make(chan struct{}),
		targetCh:  make(chan struct{}, 1),
		rejoinCh:  make(chan struct{}, 1),
		reportNow: make(chan struct{}, 1),
	}, nil
}

// PeerID is the home's libp2p peer ID, also its Raft server ID.
func (n *Node) PeerID() peer.ID { return n.id }

// Home is the home's ID.
func (n *Node) Home() gridmesh.HomeID { return n.cfg.Home }

// Ready is closed once the home's host listens and its Raft group is open.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// P2PAddrs returns the home's dialable multiaddrs (with /p2p/<id>), for
// other homes' bootstrap lists. Empty before Ready.
func (n *Node) P2PAddrs() []string {
	select {
	case <-n.ready:
		return n.mesh.P2PAddrs()
	default:
		return nil
	}
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

// Run runs the home until ctx ends or a component fails. The device loop
// (and the status endpoint) start first and depend on nothing the network
// does: while the host, the Raft group or the topics cannot open, Run
// retries them with backoff and the home keeps its devices safe on its
// own. Once the network is up every component runs under one errgroup;
// on return Run has stopped intake first (topics), then Raft, then the
// host. Run may be called once.
func (n *Node) Run(ctx context.Context) error {
	loop, err := control.NewLoop(control.LoopConfig{Home: n.cfg.Home, Neighborhood: n.cfg.Neighborhood})
	if err != nil {
		return fmt.Errorf("node %s: %w", n.cfg.Home, err)
	}
	parent := ctx
	eg, ctx := errgroup.WithContext(ctx)
	plans := make(chan gridmesh.Plan, planQueue)
	lr := &loopRunner{n: n, loop: loop, plans: plans}
	eg.Go(func() error { return lr.run(ctx) })
	if n.cfg.HTTPAddr != "" {
		eg.Go(func() error { return n.serveHTTP(ctx) })
	}
	eg.Go(func() error { return n.runNetwork(ctx, plans) })
	err = eg.Wait()
	if err == nil || parent.Err() != nil {
		// Stopped from outside: components unblocked by the stop may
		// report it in their own words (a closed topic); that is no error.
		return nil
	}
	return fmt.Errorf("node %s: %w", n.cfg.Home, err)
}

// Backoff between attempts to open the network. Why these: a port or a
// data directory another process still holds is usually free again in a
// second; a home whose network stays down retries twice a minute, loudly
// enough to be seen in its log, quietly enough not to spin.
const (
	openRetryMin = time.Second
	openRetryMax = 30 * time.Second
)

// runNetwork opens the host, the Raft group and the neighborhood's topics,
// retrying until they open or ctx ends, then runs the network's
// components until ctx ends or one fails.
func (n *Node) runNetwork(ctx context.Context, plans chan<- gridmesh.Plan) error {
	wait := openRetryMin
	for {
		m, g, nb, err := n.openNetwork(ctx)
		if err == nil {
			defer m.Close()
			defer g.Close()
			defer nb.Close() // closed first: intake stops before Raft and the host
			n.mesh, n.group, n.nbhd = m, g, nb
			break
		}
		n.stats.networkOpenFailures.Add(1)
		n.log.Warn("network not up; the home runs on its own meanwhile", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, openRetryMax)
	}
	close(n.ready)
	n.log.Info("home up", "peer", n.id.String(), "addrs", n.mesh.Addrs())

	eg, ctx := errgroup.WithContext(ctx)
	table := newTelemetryTable()
	eg.Go(func() error { return n.mesh.Run(ctx) })
	eg.Go(func() error { return n.publishTelemetry(ctx) })
	eg.Go(func() error { return n.receivePlans(ctx, plans) })
	// Every home runs the telemetry receiver and the dispatcher: any home
	// may be made a voter and lead. The receiver reads only while the home
	// listens (listenTelemetry: no Raft state yet, a voter, or long
	// leaderless); the dispatcher plans only while this home leads.
	eg.Go(func() error { return n.receiveTelemetry(ctx, table) })
	eg.Go(func() error { return n.listenTelemetry(ctx) })
	eg.Go(func() error { return n.dispatch(ctx, table) })
	eg.Go(func() error { return n.runRegion(ctx, table) }) // signals and aggregates (region.go)
	if len(n.cfg.Raft.Servers) == 0 {
		eg.Go(func() error { return n.organize(ctx, table) })
	}
	return eg.Wait()
}

// openNetwork opens the host, the Raft group and the topics, closing
// whatever it opened when a later step fails.
func (n *Node) openNetwork(ctx context.Context) (*mesh.Mesh, *consensus.Group, *mesh.Neighborhood, error) {
	m, err := mesh.Open(ctx, n.cfg.Mesh, n.deps.Key, n.log)
	if err != nil {
		return nil, nil, nil, err
	}
	raftCfg := n.cfg.Raft
	raftCfg.Admit = m.Admitted // everyone, unless cfg.Mesh.Admission is set
	g, err := consensus.Open(raftCfg, m.Host(), n.log)
	if err != nil {
		return nil, nil, nil, errors.Join(err, m.Close())
	}
	nb, err := m.JoinNeighborhood(n.cfg.Neighborhood, leaderView{g}, true)
	if err != nil {
		return nil, nil, nil, errors.Join(err, g.Close(), m.Close())
	}
	return m, g, nb, nil
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
