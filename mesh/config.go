package mesh

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh"
)

// Config tunes one home's mesh. Start from DefaultConfig.
type Config struct {
	// Network names the deployment; it is part of every topic name, so
	// two deployments sharing peers never mix messages. It follows the
	// rules of a gridmesh identifier.
	Network string
	// ListenAddrs are TCP multiaddrs to listen on, without /p2p; with
	// NAT.QUIC, QUIC (udp/.../quic-v1) ones too, else one beside each TCP
	// address is derived.
	ListenAddrs []string
	// Bootstrap are peers to dial and keep connected, as multiaddrs ending
	// in /p2p/<id> (the form P2PAddrs returns). A peer may appear with
	// several addresses; the local host is skipped.
	Bootstrap []string

	// ConnsPerIP bounds connections from one non-loopback IPv4 address (or
	// IPv6 /56): homes behind one NAT share an address. Loopback, where a
	// whole testnet lives, is bounded only by MaxConns.
	ConnsPerIP int
	// MaxConns is the hard cap on connections (the resource manager's),
	// inbound and outbound, including ones still handshaking.
	MaxConns int
	// LowWaterConns and HighWaterConns drive the connection manager: above
	// HighWaterConns it closes the least useful connections (never gossip
	// mesh peers or bootstrap peers it protects) down to LowWaterConns.
	LowWaterConns  int
	HighWaterConns int

	// GossipHeartbeat is gossipsub's heartbeat: mesh upkeep and gossip
	// about recent messages happen once per beat.
	GossipHeartbeat time.Duration
	// InboxSize is how many received messages one subscription buffers.
	// When the consumer falls further behind, gossipsub drops the newest
	// message (and logs it); it never blocks the network.
	InboxSize int
	// RedialMin and RedialMax bound the delay between attempts to reach a
	// bootstrap peer. The delay doubles on every failure, starting from
	// RedialMin, up to RedialMax, with jitter.
	RedialMin time.Duration
	RedialMax time.Duration

	// Admission, if set, admits only peers with a valid membership
	// certificate of the neighborhood to its topics and Raft group; nil
	// admits everyone.
	Admission *AdmissionConfig

	// OperatorPass, on a grid operator's host (which has no Admission),
	// is presented to every peer on OperatorAdmitProtocol: a certificate
	// for the region (Neighborhood is the region's name), naming this
	// host's peer ID and signed with an operator key. Homes with admission
	// on let a host whose pass verifies against their
	// Region.OperatorKeys on the region topic, and nowhere else.
	OperatorPass *gridmesh.Membership

	// NAT turns on NAT traversal: QUIC, AutoNAT, relays, hole punching.
	// DefaultConfig leaves it off (hosts on one network); a home file
	// turns it on (DefaultHomeNAT).
	NAT NATConfig

	// Region configures the region topic (see region.go): the operator
	// keys signals must be signed with, and the neighborhoods' keys
	// aggregates are checked against.
	Region RegionConfig
}

// Defaults, and why.
const (
	// defaultConnsPerIP: a few homes of one apartment block or CGNAT pool
	// share an address, each with a handful of connections to the others.
	// go-libp2p's own default of 8 would cut off the third home.
	defaultConnsPerIP = 32
	// defaultHighWater: a low-voltage feeder serves at most ~200 homes; a
	// bootstrap peer or Raft leader that every home of its neighborhood
	// dials keeps them all, with room for region links.
	defaultHighWater = 256
	// defaultLowWater: trim to half, so one trim round does not refill at
	// once.
	defaultLowWater = 128
	// defaultMaxConns: twice the high water. The connection manager trims
	// only after a grace period, so a whole testnet starting at once must
	// fit meanwhile.
	defaultMaxConns = 512
	// defaultInboxSize holds one period's telemetry of a whole neighborhood
	// (~200 homes), so a voter that stalls for a period loses nothing.
	defaultInboxSize = 256
	// defaultRedialMin retries soon after a blip (a restart takes seconds).
	defaultRedialMin = 500 * time.Millisecond
	// defaultRedialMax caps the wait so a home finds its way back within
	// half a minute of a bootstrap peer's return, without hammering a dead
	// one: a whole city redialing every 30 s is a few connections a second.
	defaultRedialMax = 30 * time.Second
	// defaultGossipHeartbeat is gossipsub's own default, the one the
	// bare library's latency figures (docs/BENCHMARKS.md) were measured
	// with.
	defaultGossipHeartbeat = time.Second
)

// DefaultConfig returns a configuration for one home on 127.0.0.1 with no
// bootstrap peers, in the deployment "dev".
func DefaultConfig() Config {
	return Config{
		Network:         "dev",
		ListenAddrs:     []string{"/ip4/127.0.0.1/tcp/0"},
		ConnsPerIP:      defaultConnsPerIP,
		MaxConns:        defaultMaxConns,
		LowWaterConns:   defaultLowWater,
		HighWaterConns:  defaultHighWater,
		GossipHeartbeat: defaultGossipHeartbeat,
		InboxSize:       defaultInboxSize,
		RedialMin:       defaultRedialMin,
		RedialMax:       defaultRedialMax,
	}
}

// Validate checks every field and the relations between them.
func (c Config) Validate() error {
	var errs []error
	if err := gridmesh.NeighborhoodID(c.Network).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("network name %q must be a valid identifier: %w", c.Network, err))
	}
	if _, err := c.listenAddrs(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.bootstrapPeers(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("MaxConns %d must be positive", c.MaxConns))
	}
	if c.ConnsPerIP < 1 || c.ConnsPerIP > c.MaxConns {
		errs = append(errs, fmt.Errorf("ConnsPerIP %d must be in [1, MaxConns %d]", c.ConnsPerIP, c.MaxConns))
	}
	if c.LowWaterConns < 0 || c.LowWaterConns >= c.HighWaterConns || c.HighWaterConns > c.MaxConns {
		errs = append(errs, fmt.Errorf("want 0 <= LowWaterConns %d < HighWaterConns %d <= MaxConns %d",
			c.LowWaterConns, c.HighWaterConns, c.MaxConns))
	}
	if c.GossipHeartbeat < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("GossipHeartbeat %v must be at least 10ms", c.GossipHeartbeat))
	}
	if c.InboxSize < 1 {
		errs = append(errs, fmt.Errorf("InboxSize %d must be positive", c.InboxSize))
	}
	if c.RedialMin <= 0 || c.RedialMin > c.RedialMax {
		errs = append(errs, fmt.Errorf("want 0 < RedialMin %v <= RedialMax %v", c.RedialMin, c.RedialMax))
	}
	if err := c.NAT.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Admission != nil {
		if err := c.Admission.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.OperatorPass != nil {
		if err := c.OperatorPass.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("operator pass: %w", err))
		}
		if c.Admission != nil {
			errs = append(errs, errors.New("a host has a membership certificate or an operator pass, not both"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mesh config: %w", err)
	}
	return nil
}

// listenAddrs parses ListenAddrs: TCP, and QUIC with NAT.QUIC; no /p2p.
// With NAT.QUIC and no QUIC address given, one is derived beside each
// TCP address.
func (c Config) listenAddrs() ([]ma.Multiaddr, error) {
	if len(c.ListenAddrs) == 0 {
		return nil, errors.New("no listen address")
	}
	out := make([]ma.Multiaddr, 0, len(c.ListenAddrs))
	for _, s := range c.ListenAddrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %w", s, err)
		}
		_, tcpErr := a.ValueForProtocol(ma.P_TCP)
		switch {
		case tcpErr == nil:
		case isQUIC(a) && c.NAT.QUIC:
		case isQUIC(a):
			return nil, fmt.Errorf("listen address %q is not TCP, and NAT.QUIC is off", s)
		default:
			return nil, fmt.Errorf("listen address %q is not TCP or QUIC", s)
		}
		if _, id := peer.SplitAddr(a); id != "" {
			return nil, fmt.Errorf("listen address %q must not name a peer", s)
		}
		out = append(out, a)
	}
	if c.NAT.QUIC {
		out = withQUIC(out)
	}
	return out, nil
}

// bootstrapPeers parses Bootstrap, merging the addresses of one peer.
func (c Config) bootstrapPeers() ([]peer.AddrInfo, error) {
	addrs := make([]ma.Multiaddr, 0, len(c.Bootstrap))
	for _, s := range c.Bootstrap {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		if t, id := peer.SplitAddr(a); id == "" || len(t) == 0 {
			return nil, fmt.Errorf("bootstrap address %q must be a transport address ending in /p2p/<peer id>", s)
		}
		addrs = append(addrs, a)
	}
	return peer.AddrInfosFromP2pAddrs(addrs...)
}

// RegionName is the region's name: Region.Name, or the deployment's
// Network when that is empty.
func (c Config) RegionName() string {
	if c.Region.Name != "" {
		return c.Region.Name
	}
	return c.Network
}

// regionKeys gathers the keys admission checks region peers with.
func (c Config) regionKeys() regionKeys {
	return regionKeys{
		name:      gridmesh.NeighborhoodID(c.RegionName()),
		neighbors: c.Region.NeighborhoodKeys,
		operators: c.Region.OperatorKeys,
	}
}
