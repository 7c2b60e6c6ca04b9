package testnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/internal/freeport"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/memnet"
	"github.com/gridmesh/gridmesh/node"
)

// home is one home of the city: its node, its simulated devices and its
// lifecycle. alive is written by the city's scenario goroutine and read
// by the sampler.
type home struct {
	id     gridmesh.HomeID
	nbhd   int
	voter  bool
	node   *node.Node
	dev    *sim.Home
	params sim.HomeParams
	// full is every device of the home (params is its battery, PV and
	// load); EV charger and heat pump only with Config.fullHomes.
	full sim.FullHomeParams
	key  crypto.PrivKey
	cfg  node.Config // complete but for the bootstrap list
	// sunspec: the home reaches its devices over Modbus TCP, through a Go
	// SunSpec server in front of its simulation.
	sunspec bool

	cancel context.CancelFunc
	done   chan struct{} // closed when the node's Run returned
	err    error         // Run's result, readable after done
	alive  atomic.Bool
	// revoked: the revoke scenario revoked it; it runs on, but is no
	// home of its neighborhood any more (live leaves it out). Written by
	// that scenario's goroutine.
	revoked atomic.Bool
	// shown is node for the city's page, which reads it from its own
	// goroutines: stored by run at every start (dashboard.go).
	shown atomic.Pointer[node.Node]
	final node.Status // the status at death, readable after done
	// runs are the final statuses of every run of the home (churn
	// restarts it), the last one being final's; written by the run's
	// goroutine once done is closed.
	runs []node.Status

	// ip, port and peer make the home's address known before it starts, so
	// any home can name any other as a bootstrap peer; dataDir holds its
	// Raft state across restarts. hold keeps port while the home is not
	// running (before it starts, and between a kill and a restart), so
	// nothing else takes it; nil while it runs.
	ip      string
	port    int
	peer    peer.ID
	dataDir string
	hold    *freeport.Reservation
	// late: the churn scenario starts it during the run, not at start.
	late bool
}

// neighborhood is one feeder's homes.
type neighborhood struct {
	id  gridmesh.NeighborhoodID
	key ed25519.PublicKey // its membership key; every home holds a certificate
	// priv is the key's private half: the city certifies its archiver and,
	// in the attack scenarios, a member gone bad (attacks.go).
	priv  ed25519.PrivateKey
	homes []*home
	// target is what the neighborhood is asked for now; written only by
	// the run's goroutine.
	target gridmesh.Target
	// regionalW is how much less its leader has it import for the region
	// now (regional.go); the feeder tracks target less it. Written only
	// by the run's goroutine.
	regionalW gridmesh.W
}

// city is every home and neighborhood of a run.
type city struct {
	cfg   Config
	log   *slog.Logger
	rec   node.Observer
	nbhds []*neighborhood
	homes []*home
	wg    sync.WaitGroup
	// closers stop the SunSpec servers and drivers; written by start,
	// run by stop, both on the run's goroutine.
	closers []func() error
	// clock is the devices' (simulated) time.
	clock func() time.Time
	// dataRoot holds every home's Raft data; removed by stop.
	dataRoot string
	// mem is the network every host of the city speaks over with the
	// mem transport; nil on TCP.
	mem *memnet.Network
}

// meshOpts are the options of every mesh host the city opens: the
// in-memory network's transport, or none (TCP).
func (c *city) meshOpts() []mesh.Option {
	if c.mem == nil {
		return nil
	}
	return []mesh.Option{mesh.WithTransport(c.mem.Transport())}
}

// transport is the libp2p option of a bare host the city opens: nil
// (libp2p's defaults) on TCP.
func (c *city) transport() libp2p.Option {
	if c.mem == nil {
		return nil
	}
	return c.mem.Transport()
}

// newCity creates every home's identity, devices and node configuration,
// and holds every home's port, without starting any. Home i belongs to
// neighborhood i mod Neighborhoods; the first Voters homes of each
// neighborhood vote. On error, whatever it made is undone.
func newCity(cfg Config, rec node.Observer, clock func() time.Time, log *slog.Logger) (c *city, err error) {
	c = &city{cfg: cfg, log: log, rec: rec, clock: clock}
	if cfg.Transport == TransportMem {
		c.mem = memnet.New()
	}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	if err := c.addHomes(); err != nil {
		return nil, err
	}
	if err := c.placeHomes(); err != nil {
		return nil, err
	}
	if cfg.has(ScenarioChurn) {
		for _, nb := range c.nbhds {
			if len(nb.homes) >= churnMinHomes {
				nb.homes[len(nb.homes)-1].late = true
			}
		}
	}
	now := time.Now()
	for _, nb := range c.nbhds {
		if err := c.certify(nb, now); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// addHomes creates every neighborhood, and every home's key and
// simulated devices, drawn from the run's seed.
func (c *city) addHomes() error {
	cfg := c.cfg
	rng := mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x67726964))
	for k := range cfg.Neighborhoods {
		c.nbhds = append(c.nbhds, &neighborhood{id: gridmesh.NeighborhoodID(fmt.Sprintf("n%d", k))})
	}
	for i := range cfg.Homes {
		nb := c.nbhds[i%cfg.Neighborhoods]
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return fmt.Errorf("home key: %w", err)
		}
		h := &home{
			key:     key,
			id:      gridmesh.HomeID(fmt.Sprintf("%s-h%03d", nb.id, len(nb.homes))),
			nbhd:    i % cfg.Neighborhoods,
			voter:   len(nb.homes) < cfg.Voters,
			sunspec: i < cfg.SunSpecHomes,
			done:    make(chan struct{}),
		}
		h.params, h.full = drawHome(cfg, rng, i)
		dev, err := sim.NewFullHome(h.full, c.clock)
		if err != nil {
			return fmt.Errorf("home %s devices: %w", h.id, err)
		}
		h.dev = dev
		nb.homes = append(nb.homes, h)
		c.homes = append(c.homes, h)
	}
	return nil
}

// placeHomes fixes every home's port and Raft data directory up front:
// its address is known to the others before it starts, and a home
// restarted by the churn scenario comes back where it was, with its
// state. The ports are held until each home starts.
func (c *city) placeHomes() error {
	root, err := os.MkdirTemp("", "gridmesh-testnet-")
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	c.dataRoot = root
	for i, h := range c.homes {
		if err := c.placeAddr(h, i); err != nil {
			return fmt.Errorf("home %s: %w", h.id, err)
		}
		if h.peer, err = peer.IDFromPrivateKey(h.key); err != nil {
			return fmt.Errorf("home %s: %w", h.id, err)
		}
		h.dataDir = filepath.Join(root, string(h.id))
	}
	return nil
}

// memHomePort is every home's port on the in-memory network, where each
// home has an address of its own (placeAddr): no port is ever scarce there,
// and the ephemeral ports (32768 and up) other hosts listen on at 127.0.0.1
// stay clear of the homes'.
const memHomePort = 4001

// placeAddr gives h, the i-th home, its address: on TCP a loopback port
// held until it starts; on the in-memory network an address of its own
// in 127.1.0.0 and up.
func (c *city) placeAddr(h *home, i int) error {
	if c.mem != nil {
		h.ip = fmt.Sprintf("127.%d.%d.%d", 1+i>>16, i>>8&0xff, i&0xff)
		h.port = memHomePort
		return nil
	}
	var err error
	if h.hold, err = freeport.Reserve(); err != nil {
		return err
	}
	h.ip, h.port = "127.0.0.1", h.hold.Port()
	return nil
}

// listenAddr is the multiaddr h listens on.
func (h *home) listenAddr() string { return fmt.Sprintf("/ip4/%s/tcp/%d", h.ip, h.port) }

// p2pAddr is the multiaddr others dial h at, with its peer ID.
func (h *home) p2pAddr() string { return fmt.Sprintf("%s/p2p/%s", h.listenAddr(), h.peer) }

// certify gives nb a membership key and each of its homes a certificate
// valid for a day, so only its homes are admitted, and completes their
// node configurations. With StaticVoters, the neighborhood's Raft group
// lists all of its homes; every member gets the identical list, as
// Raft's bootstrap requires.
func (c *city) certify(nb *neighborhood, now time.Time) error {
	cfg := c.cfg
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("neighborhood %s key: %w", nb.id, err)
	}
	nb.key, nb.priv = pub, priv
	servers := make([]consensus.Server, 0, len(nb.homes))
	certs := make([]gridmesh.Membership, 0, len(nb.homes))
	for _, h := range nb.homes {
		servers = append(servers, consensus.Server{ID: h.peer.String(), Voter: h.voter})
		cert, err := issue(priv, nb.id, h.peer, h.id, now)
		if err != nil {
			return fmt.Errorf("home %s: %w", h.id, err)
		}
		certs = append(certs, cert)
	}
	var pvPeakW gridmesh.W
	for _, h := range nb.homes {
		pvPeakW += h.params.PV.PeakW
	}
	for i, h := range nb.homes {
		h.cfg = cfg.Node
		// The island's rationing forecasts PV from the clear-sky model
		// (node.Config.Reserve's PV; no Lookahead: no evening reserve):
		// the neighborhood's arrays at the place of the example profile.
		// After the copy of cfg.Node, which would overwrite it.
		h.cfg.Reserve.PV = cityPVModel(pvPeakW)
		h.cfg.Home, h.cfg.Neighborhood = h.id, nb.id
		h.cfg.Mesh.Network = cfg.Network
		h.cfg.Mesh.Admission = mesh.DefaultAdmission(pub, certs[i])
		h.cfg.Mesh.Admission.Timeout = cfg.AdmissionTimeout
		if cfg.StaticVoters {
			h.cfg.Raft.Servers = servers
		}
		h.cfg.Formation.Voters = cfg.Voters
		h.cfg.Formation.LargeVoters = max(h.cfg.Formation.LargeVoters, cfg.Voters)
		if cfg.has(ScenarioChurn) {
			// Restarted homes come back with their Raft state, as real
			// ones do. Otherwise memory: a hundred homes fsyncing
			// every plan on one machine starve Raft's heartbeats (on
			// a home's own box, one fsync a second is nothing).
			h.cfg.Raft.DataDir = h.dataDir
		}
		h.cfg.NoIslandSharing = cfg.NoSharing
		if cfg.Dashboard != nil && h.cfg.HTTPAddr == "" {
			h.cfg.HTTPAddr = homeDashboardAddr
		}
	}
	return nil
}

// start runs every home but the late ones and returns once they all
// listen, or with an error. With cold-start they start at one instant.
// Otherwise the first home of every neighborhood starts first (it is the
// others' bootstrap peer), then the others of each neighborhood one after
// the other, as a home's installer would bring them up, each once the one
// before it (its other bootstrap peer) listens: StartParallel
// neighborhoods at once, by default one in eight (startBatch).
func (c *city) start(ctx context.Context, bootTimeout time.Duration) error {
	var firsts [][]*home
	rest := make([][]*home, 0, len(c.nbhds))
	for _, nb := range c.nbhds {
		var chain []*home
		for _, h := range nb.homes {
			if !h.late {
				chain = append(chain, h)
			}
		}
		if len(chain) > 0 {
			firsts = append(firsts, chain[:1])
			rest = append(rest, chain[1:])
		}
	}
	if c.cfg.has(ScenarioColdStart) {
		var all []*home
		for k := range firsts {
			all = append(append(all, firsts[k]...), rest[k]...)
		}
		for _, h := range all {
			if err := c.run(ctx, h); err != nil {
				return err
			}
		}
		for _, h := range all {
			if err := c.awaitReady(ctx, h, bootTimeout); err != nil {
				return err
			}
		}
		return nil
	}
	if err := c.startBatch(ctx, firsts, bootTimeout); err != nil {
		return err
	}
	return c.startBatch(ctx, rest, bootTimeout)
}

// startBatch starts the homes of every chain in order, each once the one
// before it listens and StartInterval more has passed, and at most
// StartParallel chains at once. It returns once every home listens, or
// with the first error. A home's start is a burst of work (handshakes,
// its certificate presented to every peer within the admission timeout);
// a home whose bootstrap peer started at the same moment may find it too
// busy to present in time, and be refused.
func (c *city) startBatch(ctx context.Context, chains [][]*home, bootTimeout time.Duration) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.startParallel())
	var runMu sync.Mutex // run is not safe for concurrent use
	for _, chain := range chains {
		g.Go(func() error {
			for _, h := range chain {
				runMu.Lock()
				err := c.run(ctx, h)
				runMu.Unlock()
				if err != nil {
					return err
				}
				if err := c.awaitReady(gctx, h, bootTimeout); err != nil {
					return err
				}
				if !backoff.Sleep(gctx, c.cfg.StartInterval) {
					return gctx.Err()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// awaitReady waits until h listens.
func (c *city) awaitReady(ctx context.Context, h *home, bootTimeout time.Duration) error {
	t := time.NewTimer(bootTimeout)
	defer t.Stop()
	select {
	case <-h.node.Ready():
		return nil
	case <-h.done:
		return fmt.Errorf("home %s stopped while starting: %v", h.id, h.err)
	case <-t.C:
		return fmt.Errorf("home %s not up after %v", h.id, bootTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// bootstrapFor lists the addresses h dials first, as a home's installer
// would give it a few: the first home of its neighborhood, the home
// before it in its neighborhood, and the first home of the previous
// neighborhood (so the region is one mesh). Gossip tells it of the rest.
// Addresses are known before anyone starts; a peer not up yet is dialed
// again with backoff.
func (c *city) bootstrapFor(h *home) []string {
	var peers []*home
	nb := c.nbhds[h.nbhd]
	if idx := indexOf(nb.homes, h); idx > 0 {
		peers = append(peers, nb.homes[0])
		if idx > 1 {
			peers = append(peers, nb.homes[idx-1])
		}
	}
	if len(c.nbhds) > 1 {
		prev := c.nbhds[(h.nbhd+len(c.nbhds)-1)%len(c.nbhds)]
		peers = append(peers, prev.homes[0])
	}
	addrs := make([]string, 0, len(peers))
	for _, p := range peers {
		addrs = append(addrs, p.p2pAddr())
	}
	return addrs
}

// issue signs a certificate admitting home, with peer ID id, to nbhd for a
// day from an hour before now (a run is minutes long).
func issue(priv ed25519.PrivateKey, nbhd gridmesh.NeighborhoodID, id peer.ID, home gridmesh.HomeID, now time.Time) (gridmesh.Membership, error) {
	m := gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: nbhd, Peer: id.String(), Home: home,
		IssuedMs: now.Add(-time.Hour).UnixMilli(), ExpiresMs: now.Add(23 * time.Hour).UnixMilli(),
	}
	if err := m.Sign(priv); err != nil {
		return gridmesh.Membership{}, fmt.Errorf("membership: %w", err)
	}
	return m, nil
}

func indexOf(hs []*home, h *home) int {
	for i, o := range hs {
		if o == h {
			return i
		}
	}
	return -1
}

// run creates h's node and runs it, for the first time or again.
func (c *city) run(ctx context.Context, h *home) error {
	cfg := h.cfg
	cfg.Mesh.Bootstrap = c.bootstrapFor(h)
	cfg.Mesh.ListenAddrs = []string{h.listenAddr()}
	deps := node.Deps{Battery: h.dev, Meter: h.dev}
	if h.sunspec {
		var err error
		if deps, err = c.sunspecDeps(ctx, h); err != nil {
			return err
		}
	}
	if c.cfg.fullHomes() && !h.sunspec {
		d := h.dev.Devices()
		deps.PV, deps.Charger, deps.HeatPump, deps.Loads = d.PV, d.Charger, d.HeatPump, d.Loads
	}
	deps.DeviceNow = c.clock
	deps.Key, deps.Logger, deps.Observer = h.key, c.log, c.rec
	deps.Mesh = c.meshOpts()
	n, err := node.New(cfg, deps)
	if err != nil {
		return err
	}
	h.node = n
	h.shown.Store(n)
	n.SetTarget(c.nbhds[h.nbhd].target)
	hctx, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	h.done = make(chan struct{})
	h.alive.Store(true)
	if h.hold != nil {
		h.hold.Release() // the node binds the port a moment later
		h.hold = nil
	}
	c.wg.Add(1)
	go func(done chan struct{}) {
		defer c.wg.Done()
		defer close(done)
		h.err = h.node.Run(hctx)
		h.final = h.node.Status()
		h.runs = append(h.runs, h.final)
	}(h.done)
	return nil
}

// kill stops h hard, like kill -9: its context ends and its node tears
// down without a leadership transfer. It returns once the node is gone
// and its port is held again.
func (c *city) kill(h *home) {
	up := h.node.Status()
	h.alive.Store(false)
	h.cancel()
	<-h.done
	h.keepNetworkFigures(up)
	c.holdPort(h)
}

// keepNetworkFigures completes the status h's node gave once it had
// stopped (its last run's) with what only a running network reports,
// from up, its status a moment before it was stopped. Call it on the
// run's goroutine once h is done.
func (h *home) keepNetworkFigures(up node.Status) {
	h.final = withNetworkFigures(h.final, up)
	h.runs[len(h.runs)-1] = h.final
}

// withNetworkFigures returns st, a home's status after its node
// stopped, with the figures that a node reports only while its network
// is up taken from up, its status just before the stop: the peers and
// messages its mesh refused, its region view and its Raft stream
// counters. A stopped node's Status has none of them (they live and die
// with the network), yet the report counts them over every run of every
// home. What the network counted between up and the stop, a few
// milliseconds, is not in them. If up was taken while the network was
// down, st is returned as it is.
func withNetworkFigures(st, up node.Status) node.Status {
	if up.Rejections == nil {
		return st // the network was down: nothing to keep
	}
	st.Rejections, st.Region = up.Rejections, up.Region
	counters := make(map[string]uint64, len(st.Counters)+len(up.Counters))
	for k, v := range up.Counters {
		counters[k] = v // the network's; the node's own are overwritten below
	}
	for k, v := range st.Counters {
		counters[k] = v // the node's counters, final
	}
	st.Counters = counters
	return st
}

// holdPort holds h's port while h is down, so that it restarts at the
// address the other homes know (on TCP; nothing else takes an address on
// the in-memory network). If another process took the port in the
// moment since h released it, h moves to a new one (the homes that named
// it as a bootstrap peer find it again through gossip).
func (c *city) holdPort(h *home) {
	if c.mem != nil {
		return // the in-memory network's addresses are the city's alone
	}
	r, err := freeport.ReserveAt(h.port)
	if err != nil {
		if r, err = freeport.Reserve(); err != nil {
			c.log.Warn("no port to hold for a stopped home", "home", h.id, "err", err)
			return
		}
		c.log.Warn("a stopped home's port was taken; it restarts on another", "home", h.id, "old", h.port, "new", r.Port())
	}
	h.hold, h.port = r, r.Port()
}

// leave stops h gracefully: it hands leadership over if it leads, then
// stops. It returns once the node is gone.
func (c *city) leave(ctx context.Context, h *home) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.node.Leave(ctx); err != nil {
		c.log.Warn("leave", "home", h.id, "err", err)
	}
	c.kill(h)
}

// stop kills every live home, waits for all of them, then releases their
// ports, removes their data and stops the devices' servers. It is safe on
// a city that never started, or only partly built.
func (c *city) stop() {
	up := make(map[*home]node.Status)
	for _, h := range c.homes {
		if h.cancel != nil && h.alive.Load() {
			up[h] = h.node.Status()
		}
	}
	for _, h := range c.homes {
		if h.cancel != nil {
			h.alive.Store(false)
			h.cancel()
		}
	}
	c.wg.Wait()
	for h, st := range up {
		h.keepNetworkFigures(st)
	}
	for _, h := range c.homes {
		if h.hold != nil {
			h.hold.Release()
			h.hold = nil
		}
	}
	if c.dataRoot != "" {
		if err := os.RemoveAll(c.dataRoot); err != nil {
			c.log.Warn("remove data directory", "err", err)
		}
		c.dataRoot = ""
	}
	for _, close := range c.closers {
		if err := close(); err != nil {
			c.log.Warn("device shutdown", "err", err)
		}
	}
	c.closers = nil
}

// live returns the homes of a neighborhood that are running.
func (nb *neighborhood) live() []*home {
	out := make([]*home, 0, len(nb.homes))
	for _, h := range nb.homes {
		if h.alive.Load() && !h.revoked.Load() {
			out = append(out, h)
		}
	}
	return out
}

// has reports whether home id is one of nb's.
func (nb *neighborhood) has(id gridmesh.HomeID) bool {
	for _, h := range nb.homes {
		if h.id == id {
			return true
		}
	}
	return false
}
