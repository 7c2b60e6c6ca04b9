package mesh

import (
	"fmt"
	"net/netip"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
)

// ipv6SiteFactor scales ConnsPerIP from an IPv6 /56 (one customer) to a
// /48 (one site), as go-libp2p's own defaults do (8 and 64).
const ipv6SiteFactor = 8

// newResourceManager builds go-libp2p's resource manager with its scaled
// defaults (memory and file descriptors of this machine), then
//   - caps connections at MaxConns, also while they handshake (transient),
//     so a testnet dialing one host all at once is not refused;
//   - lets loopback, where a testnet shares 127.0.0.1, use all of them;
//   - bounds every other IPv4 address (IPv6 /56) at ConnsPerIP.
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
	return rm, nil
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
