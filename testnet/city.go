package testnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/mesh"
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
	final  node.Status // the status at death, readable after done
}

// neighborhood is one feeder's homes.
type neighborhood struct {
	id    gridmesh.NeighborhoodID
	key   ed25519.PublicKey // its membership key; every home holds a certificate
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
}

// newCity creates every home's identity, devices and node, without
// starting any. Home i belongs to neighborhood i mod Neighborhoods; the
// first Voters homes of each neighborhood vote.
func newCity(cfg Config, rec node.Observer, clock func() time.Time, log *slog.Logger) (*city, error) {
	c := &city{cfg: cfg, log: log, rec: rec, clock: clock}
	rng := mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x67726964))
	for k := range cfg.Neighborhoods {
		c.nbhds = append(c.nbhds, &neighborhood{id: gridmesh.NeighborhoodID(fmt.Sprintf("n%d", k))})
	}
	for i := range cfg.Homes {
		nb := c.nbhds[i%cfg.Neighborhoods]
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("home key: %w", err)
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
		dev, err := sim.NewFullHome(h.full, clock)
		if err != nil {
			return nil, fmt.Errorf("home %s devices: %w", h.id, err)
		}
		h.dev = dev
		nb.homes = append(nb.homes, h)
		c.homes = append(c.homes, h)
	}
	// Each neighborhood's Raft group lists all of its homes; every member
	// gets the identical list, as Raft's bootstrap requires. Each
	// neighborhood has a membership key, and each home a certificate
	// valid for a day, so only its homes are admitted.
	now := time.Now()
	for _, nb := range c.nbhds {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("neighborhood %s key: %w", nb.id, err)
		}
		nb.key = pub
		servers := make([]consensus.Server, 0, len(nb.homes))
		certs := make([]gridmesh.Membership, 0, len(nb.homes))
		for _, h := range nb.homes {
			id, err := peer.IDFromPrivateKey(h.key)
			if err != nil {
				return nil, fmt.Errorf("home %s: %w", h.id, err)
			}
			servers = append(servers, consensus.Server{ID: id.String(), Voter: h.voter})
			cert, err := issue(priv, nb.id, id, h.id, now)
			if err != nil {
				return nil, fmt.Errorf("home %s: %w", h.id, err)
			}
			certs = append(certs, cert)
		}
		for i, h := range nb.homes {
			h.cfg = cfg.Node
			h.cfg.Home, h.cfg.Neighborhood = h.id, nb.id
			h.cfg.Mesh.Network = cfg.Network
			h.cfg.Mesh.Admission = mesh.DefaultAdmission(pub, certs[i])
			h.cfg.Mesh.Admission.Timeout = cfg.AdmissionTimeout
			h.cfg.Raft.Servers = servers
			h.cfg.NoIslandSharing = cfg.NoSharing
		}
	}
	return c, nil
}

// start runs the homes one after the other, voters first: each voter
// dials the voters started before it in its neighborhood and the first
// voter of the previous neighborhood (so the region is one mesh), then
// every other home dials its neighborhood's voters and the home started
// just before it. It returns once every home listens, or with an error.
func (c *city) start(ctx context.Context, bootTimeout time.Duration) error {
	var order []*home
	for _, voter := range []bool{true, false} {
		for _, h := range c.homes {
			if h.voter == voter {
				order = append(order, h)
			}
		}
	}
	for _, h := range order {
		if err := c.run(ctx, h, c.bootstrapFor(h)); err != nil {
			return err
		}
		select {
		case <-h.node.Ready():
		case <-h.done:
			return fmt.Errorf("home %s stopped while starting: %v", h.id, h.err)
		case <-time.After(bootTimeout):
			return fmt.Errorf("home %s not up after %v", h.id, bootTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-time.After(c.cfg.StartInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// bootstrapFor lists the addresses h dials first: every voter of its
// neighborhood already up, one home of the previous neighborhood, and
// the home started just before it in its own neighborhood.
func (c *city) bootstrapFor(h *home) []string {
	var addrs []string
	nb := c.nbhds[h.nbhd]
	for _, o := range nb.homes {
		if o == h {
			break
		}
		if o.voter {
			addrs = append(addrs, o.node.P2PAddrs()...)
		}
	}
	if idx := indexOf(nb.homes, h); idx > 0 && !nb.homes[idx-1].voter {
		addrs = append(addrs, nb.homes[idx-1].node.P2PAddrs()...)
	}
	if h.nbhd > 0 {
		prev := c.nbhds[h.nbhd-1].homes[0]
		addrs = append(addrs, prev.node.P2PAddrs()...)
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

// run creates h's node with the given bootstrap list (known only now,
// once earlier homes listen) and runs it.
func (c *city) run(ctx context.Context, h *home, bootstrap []string) error {
	cfg := h.cfg
	cfg.Mesh.Bootstrap = bootstrap
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
	n, err := node.New(cfg, deps)
	if err != nil {
		return err
	}
	h.node = n
	n.SetTarget(c.nbhds[h.nbhd].target)
	hctx, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	h.alive.Store(true)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(h.done)
		h.err = h.node.Run(hctx)
		h.final = h.node.Status()
	}()
	return nil
}

// kill stops h hard, like kill -9: its context ends and its node tears
// down without a leadership transfer. It returns once the node is gone.
func (c *city) kill(h *home) {
	h.alive.Store(false)
	h.cancel()
	<-h.done
}

// stop kills every live home, waits for all of them, then stops the
// devices' servers.
func (c *city) stop() {
	for _, h := range c.homes {
		if h.cancel != nil {
			h.alive.Store(false)
			h.cancel()
		}
	}
	c.wg.Wait()
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
		if h.alive.Load() {
			out = append(out, h)
		}
	}
	return out
}
