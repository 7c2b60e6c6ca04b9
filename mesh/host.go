package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridmesh/gridmesh"
)

// rpcOverheadBytes is room in a gossipsub frame beyond our payload: the
// author (an ed25519 peer ID, ~40 bytes), sequence number, topic name
// (~100 bytes), 64-byte signature, the public key when the ID does not
// inline it (RSA-2048: ~300 bytes) and protobuf framing. 4 KiB covers
// them with room to spare.
const rpcOverheadBytes = 4 << 10

// announcedAddrTTL is how long addresses learned from telemetry stay in
// the peerstore. Telemetry repeats them every period; an hour outlives
// any outage after which the home is still worth dialing there.
const announcedAddrTTL = time.Hour

// Mesh is one home's libp2p host and gossipsub router. Open creates it,
// Run keeps its bootstrap peers connected, JoinNeighborhood gives access
// to a neighborhood's topics, Close releases everything.
type Mesh struct {
	cfg        Config
	log        *slog.Logger
	host       host.Host
	ps         *pubsub.PubSub
	gossipCtx  context.Context // ends when gossipsub stops
	stopGossip context.CancelFunc
	bootstrap  []peer.AddrInfo
	rejections rejections
	adm        *admission // nil: admission off
	// What admission did for peers slowed down (patience.go): written by
	// the goroutines of Run.
	presentRetries, lateAdmissions atomic.Uint64
	nat                            *natTracer
	traffic                        *traffic   // gossip messages by kind of topic (traffic.go)
	scores                         scoreBoard // the latest peer scores (score.go)
	// relayLimits bounds what each peer sends, before signatures are
	// checked (ratelimit.go).
	relayLimits *limiters
	// inflight drops copies of a message still awaiting its signature
	// check (inflight.go).
	inflight *inflight
	running  atomic.Bool // Run was called

	mu     sync.Mutex // guards nbhds and closed
	nbhds  map[gridmesh.NeighborhoodID]*Neighborhood
	closed bool
}

// Option gives Open a collaborator.
type Option func(*openOptions)

type openOptions struct {
	transport  libp2p.Option         // nil: TCP on the kernel's sockets
	registerer prometheus.Registerer // nil: go-libp2p's metrics off (metrics.go)
}

// WithTransport makes the host listen and dial with t (a libp2p option
// installing one transport) in place of TCP's kernel sockets: tests and
// simulations run homes on an in-memory network (meshtest.MemNetwork)
// that serves the same TCP multiaddrs. Noise, yamux and everything above
// them stay as they are.
func WithTransport(t libp2p.Option) Option {
	return func(o *openOptions) { o.transport = t }
}

// Open validates cfg, creates the libp2p host (TCP, Noise, yamux; QUIC,
// AutoNAT, relays and hole punching as cfg.NAT says; no local discovery)
// listening on cfg.ListenAddrs with identity key, and starts gossipsub on
// it. Gossip runs until ctx
// ends or Close is called, whichever comes first; bootstrap peers are
// dialed, and peers admitted, only by Run. With cfg.Admission set, its
// Own certificate must verify now for the key's peer ID. log may be nil.
func Open(ctx context.Context, cfg Config, key crypto.PrivKey, log *slog.Logger, opts ...Option) (*Mesh, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.transport == nil {
		o.transport = libp2p.Transport(tcp.NewTCPTransport)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("mesh: no private key")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	listen, _ := cfg.listenAddrs()  // validated above
	boot, _ := cfg.bootstrapPeers() // validated above
	var adm *admission
	if cfg.Admission != nil {
		self, err := peer.IDFromPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("mesh: peer ID: %w", err)
		}
		if err := cfg.Admission.check(self, time.Now()); err != nil {
			return nil, fmt.Errorf("mesh: %w", err)
		}
		adm = newAdmission(*cfg.Admission, cfg.regionKeys())
	}
	if cfg.OperatorPass != nil {
		self, err := peer.IDFromPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("mesh: peer ID: %w", err)
		}
		if cfg.OperatorPass.Peer != self.String() {
			return nil, fmt.Errorf("mesh: operator pass names peer %s, this host is %s", cfg.OperatorPass.Peer, self)
		}
	}

	rm, err := newResourceManager(cfg)
	if err != nil {
		return nil, fmt.Errorf("mesh: %w", err)
	}
	cm, err := newConnManager(cfg)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("mesh: %w", err)
	}
	// A testnet may hand every home the same list, the hub included.
	if self, err := peer.IDFromPrivateKey(key); err == nil {
		boot = slices.DeleteFunc(boot, func(ai peer.AddrInfo) bool { return ai.ID == self })
	}
	nat := &natTracer{}
	hostOpts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrs(listen...),
		o.transport,
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		// Hundreds of hosts share a process in a testnet: never the
		// global Prometheus registry, only the one WithRegisterer gives.
		metricsOption(o.registerer),
	}
	hostOpts = append(hostOpts, natOptions(cfg.NAT, boot, nat)...)
	if adm != nil {
		hostOpts = append(hostOpts, libp2p.ConnectionGater(adm))
	}
	h, err := libp2p.New(hostOpts...)
	if err != nil {
		cm.Close()
		rm.Close()
		return nil, fmt.Errorf("mesh: libp2p host: %w", err)
	}
	self := h.ID()

	gossipCtx, stopGossip := context.WithCancel(ctx)
	m := &Mesh{
		cfg:         cfg,
		log:         log.With("component", "mesh", "peer", self.String()),
		host:        h,
		gossipCtx:   gossipCtx,
		stopGossip:  stopGossip,
		bootstrap:   boot,
		rejections:  newRejections(),
		adm:         adm,
		nat:         nat,
		traffic:     newTraffic(self),
		relayLimits: newLimiters(relayRate, relayBurst),
		inflight:    newInflight(),
		nbhds:       make(map[gridmesh.NeighborhoodID]*Neighborhood),
	}
	if adm != nil {
		// Before anything else: a peer identifies this host as it
		// connects, and one that finds no admission protocol of its
		// neighborhood here is given no patience (patience.go).
		h.SetStreamHandlerMatch(adm.proto, isAdmitProtocol, m.handleAdmit)
		h.SetStreamHandler(OperatorAdmitProtocol, m.handleOperator)
	}
	if m.ps, err = m.startGossip(log); err != nil {
		stopGossip()
		h.Close()
		return nil, fmt.Errorf("mesh: gossipsub: %w", err)
	}
	return m, nil
}

// isAdmitProtocol reports whether id is any neighborhood's admission
// protocol: a home hears every neighborhood's certificates, its own to
// admit members, the others' to let their members on the region topic.
func isAdmitProtocol(id protocol.ID) bool { return strings.HasPrefix(string(id), admitProtocolPrefix) }

// startGossip starts gossipsub on the host, behind the admission gate
// (gate.go) when admission is on.
func (m *Mesh) startGossip(log *slog.Logger) (*pubsub.PubSub, error) {
	params := pubsub.DefaultGossipSubParams()
	params.HeartbeatInterval = m.cfg.GossipHeartbeat
	h, gate := m.gossipGate()
	opts := append([]pubsub.Option{
		pubsub.WithRawTracer(m.traffic),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMaxMessageSize(MaxMessageBytes + rpcOverheadBytes),
		pubsub.WithGossipSubParams(params),
		// A publisher sends to every subscriber it is connected to, not
		// just D of them: one hop less for plans, and telemetry from a
		// home that does not subscribe reaches every voter it knows.
		pubsub.WithFloodPublish(true),
		pubsub.WithLogger(log.With("component", "gossipsub", "peer", m.host.ID().String())),
		pubsub.WithAppSpecificRpcInspector(m.inspectRPC),
	}, gate...)
	m.scores.graylisted = m.shutOut
	opts = append(opts, scoreOptions(&m.scores)...)
	return pubsub.NewGossipSub(m.gossipCtx, h, opts...)
}

// Close leaves every joined neighborhood, stops gossip and closes the
// host. Stop Run (cancel its context) first. Close is idempotent.
//
// gossipsub has no Close of its own: its goroutines see their context
// cancelled here and exit shortly after Close returns.
func (m *Mesh) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	nbhds := make([]*Neighborhood, 0, len(m.nbhds))
	for _, n := range m.nbhds {
		nbhds = append(nbhds, n)
	}
	m.mu.Unlock()

	var errs []error
	for _, n := range nbhds {
		errs = append(errs, n.Close())
	}
	m.stopGossip()
	errs = append(errs, m.host.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mesh: close: %w", err)
	}
	return nil
}

// Host returns the libp2p host, for components that open their own
// streams on it (the Raft transport). Do not close it: Close does.
func (m *Mesh) Host() host.Host { return m.host }

// ID returns the host's peer ID, the author of everything it publishes.
func (m *Mesh) ID() peer.ID { return m.host.ID() }

// Addrs returns the host's addresses, without /p2p: what a home
// announces in its telemetry. At most gridmesh.MaxAddrs, the most useful
// to others first: public direct ones, then relay circuits, then private
// ones (see announced).
func (m *Mesh) Addrs() []string { return announced(m.host.Addrs(), gridmesh.MaxAddrs) }

// announced orders addrs public direct first, relay circuits next, any
// other (private, loopback) last, keeping the order within each, and
// keeps the first max. A home behind NAT with three relays has six
// circuit addresses (TCP and QUIC each), its LAN's and its router's: more
// than telemetry carries, and its LAN addresses reach no one outside.
func announced(addrs []ma.Multiaddr, max int) []string {
	rank := func(a ma.Multiaddr) int {
		switch {
		case isCircuit(a):
			return 1
		case manet.IsPublicAddr(a):
			return 0
		default:
			return 2
		}
	}
	sorted := slices.Clone(addrs)
	slices.SortStableFunc(sorted, func(a, b ma.Multiaddr) int { return rank(a) - rank(b) })
	sorted = sorted[:min(len(sorted), max)]
	out := make([]string, len(sorted))
	for i, a := range sorted {
		out[i] = a.String()
	}
	return out
}

// isCircuit reports whether a is a relay circuit address.
func isCircuit(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// P2PAddrs returns the host's listen multiaddrs ending in /p2p/<id>, in
// the form Config.Bootstrap takes.
func (m *Mesh) P2PAddrs() []string {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: m.ID(), Addrs: m.host.Addrs()})
	if err != nil { // only for an invalid ID, which a running host has not
		return nil
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// Rejections returns how many received messages were refused at
// validation, by reason (the Reason constants), and how many peers were
// refused admission, by detail (ReasonAdmissionRefused + "/" + a Detail
// constant). Every key is present.
func (m *Mesh) Rejections() map[string]uint64 { return m.rejections.snapshot() }

// AddPeerAddrs records addresses at which peer id can be dialed, such as
// those a home announces in its telemetry. Malformed addresses, addresses
// naming another peer, and the local host are ignored; at most
// gridmesh.MaxAddrs are taken.
func (m *Mesh) AddPeerAddrs(id peer.ID, addrs []string) {
	if id == m.ID() || id.Validate() != nil {
		return
	}
	good := make([]ma.Multiaddr, 0, min(len(addrs), gridmesh.MaxAddrs))
	for _, s := range addrs[:min(len(addrs), gridmesh.MaxAddrs)] {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue
		}
		t, named := peer.SplitAddr(a)
		if len(t) == 0 || named != "" && named != id {
			continue
		}
		good = append(good, t)
	}
	m.host.Peerstore().AddAddrs(id, good, announcedAddrTTL)
	// The peer just spoke: dials that failed while it was down (a home
	// restarting) say nothing now. Without this the swarm refuses to dial
	// it for its backoff (5 s and growing), and a leader elected
	// meanwhile cannot reach it over Raft: seen as a churned home that
	// ran out of its plan while every other home had the new leader's.
	if m.host.Network().Connectedness(id) != network.Connected {
		if b, ok := m.host.Network().(interface{ Backoff() *swarm.DialBackoff }); ok {
			b.Backoff().Clear(id)
		}
	}
}
