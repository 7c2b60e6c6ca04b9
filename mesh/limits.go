package mesh

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/x/rate"
	ma "github.com/multiformats/go-multiaddr"
)

// ipv6SiteFactor scales ConnsPerIP from an IPv6 /56 (one customer) to a
// /48 (one site), as go-libp2p's own defaults do (8 and 64).
const ipv6SiteFactor = 8

// newResourceManager builds go-libp2p's resource manager with its scaled
// defaults (memory and file descriptors of this machine), then
//   - caps connections at MaxConns, also while they handshake (transient),
//     so a testnet dialing one host all at once is not refused;
//   - lets loopback, where a testnet shares 127.0.0.1, use all of them;
//   - bounds every other IPv4 address (IPv6 /56) at ConnsPerIP, and lets
//     it open them all at once and again within connRefillPeriod (the
//     library's own rate, 16 at once and one per 5 s, would hold back the
//     homes sharing an address that ConnsPerIP lets in);
//   - counts a relayed connection against no IP: the library would count
//     it against the relay's, so that the peers reaching a home behind NAT
//     through one relay would share that relay's ConnsPerIP and rate.
//     Relayed connections are bounded by the relay (circuits per peer,
//     reservations), by MaxConns, and share one pacing bucket (the
//     library's for connections without an address): ConnsPerIP at once.
//
// go-libp2p already exempts loopback today, but silently and in a default
// that has changed before; these limits are stated here instead.
func newResourceManager(cfg Config) (network.ResourceManager, error) {
	scaling := rcmgr.DefaultLimits // a copy; its maps are nil, so nothing shared is mutated
	libp2p.SetDefaultServiceLimits(&scaling)
	conns := rcmgr.LimitVal(cfg.MaxConns)
	capped := rcmgr.ResourceLimits{Conns: conns, ConnsInbound: conns, ConnsOutbound: conns}
	limits := rcmgr.PartialLimitConfig{System: capped, Transient: capped}.Build(scaling.AutoScale())

	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits),
		rcmgr.WithMetricsDisabled(),
		rcmgr.WithConnRateLimiters(connRateLimiter(cfg)),
		rcmgr.WithNetworkPrefixLimit(
			[]rcmgr.NetworkPrefixLimit{{Network: netip.MustParsePrefix("127.0.0.0/8"), ConnCount: cfg.MaxConns}},
			[]rcmgr.NetworkPrefixLimit{{Network: netip.MustParsePrefix("::1/128"), ConnCount: cfg.MaxConns}},
		),
		rcmgr.WithLimitPerSubnet(
			[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: cfg.ConnsPerIP}},
			[]rcmgr.ConnLimitPerSubnet{
				{PrefixLength: 56, ConnCount: cfg.ConnsPerIP},
				{PrefixLength: 48, ConnCount: ipv6SiteFactor * cfg.ConnsPerIP},
			},
		),
	)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return relayedConnsByPeer{rm}, nil
}

// connRefillPeriod is how soon an address may open its whole ConnsPerIP
// again: a minute, the library's own grace period, covers the homes behind
// one address all restarting at once.
const connRefillPeriod = time.Minute

// connRateLimiter paces new connections per address: ConnsPerIP at once,
// refilled over connRefillPeriod; loopback unpaced.
func connRateLimiter(cfg Config) *rate.Limiter {
	per := rate.Limit{RPS: float64(cfg.ConnsPerIP) / connRefillPeriod.Seconds(), Burst: cfg.ConnsPerIP}
	return &rate.Limiter{
		NetworkPrefixLimits: []rate.PrefixLimit{
			{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Limit: rate.Limit{}},
			{Prefix: netip.MustParsePrefix("::1/128"), Limit: rate.Limit{}},
		},
		SubnetRateLimiter: rate.SubnetLimiter{
			IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: per}},
			IPv6SubnetLimits: []rate.SubnetLimit{{PrefixLength: 56, Limit: per}},
			GracePeriod:      connRefillPeriod,
		},
	}
}

// relayedConnsByPeer is the resource manager with relayed connections
// counted against no IP address (see newResourceManager).
type relayedConnsByPeer struct{ network.ResourceManager }

// OpenConnection opens a connection scope; a relayed connection's endpoint
// is cut to its circuit part (/p2p-circuit...), which carries no IP.
func (r relayedConnsByPeer) OpenConnection(dir network.Direction, usefd bool, endpoint ma.Multiaddr) (network.ConnManagementScope, error) {
	return r.ResourceManager.OpenConnection(dir, usefd, circuitPart(endpoint))
}

// circuitPart returns a relayed address from its /p2p-circuit on, and any
// other address as it is.
func circuitPart(a ma.Multiaddr) ma.Multiaddr {
	for i, c := range a {
		if c.Code() == ma.P_CIRCUIT {
			return a[i:]
		}
	}
	return a
}

// newConnManager builds the connection manager that trims idle
// connections between the configured water marks.
func newConnManager(cfg Config) (*connmgr.BasicConnMgr, error) {
	cm, err := connmgr.NewConnManager(cfg.LowWaterConns, cfg.HighWaterConns)
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	return cm, nil
}
