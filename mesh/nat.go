package mesh

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	ma "github.com/multiformats/go-multiaddr"
)

// NATConfig turns on what a home behind a NAT router needs to be reached,
// and what a publicly reachable home offers the others. The zero value is
// everything off: TCP only, no relay, which is right where every host is
// on one network (a testnet on loopback, a LAN).
type NATConfig struct {
	// QUIC listens on UDP beside TCP: at each TCP listen address's IP and
	// port, unless ListenAddrs names QUIC addresses itself. Hole punching
	// through home routers succeeds far more often over UDP.
	QUIC bool
	// AutoNAT asks peers to dial this home back and answers their asks,
	// to learn whether it is reachable from outside. AutoNAT v1 decides
	// the host's reachability, which starts the relay service (public) or
	// auto-relay (private); v2 confirms each address on its own. Both need
	// peers with public addresses: a home on a private or loopback address
	// stays "unknown".
	AutoNAT bool
	// RelayService serves as a circuit relay v2 for homes behind NAT once
	// AutoNAT finds this home publicly reachable, within the library's
	// default resource limits (128 reservations, 16 circuits, each relayed
	// connection limited to 2 min and 128 KiB: enough for the hole punch
	// it exists for). Needs AutoNAT.
	RelayService bool
	// AutoRelay, once AutoNAT finds this home unreachable, reserves a slot
	// on its bootstrap peers (its static relays) and announces the relay
	// circuit addresses instead of its own. Needs AutoNAT; with no
	// bootstrap peers it has no relay to ask and does nothing.
	AutoRelay bool
	// HolePunching upgrades a relayed connection to a direct one (DCUtR):
	// the unreachable side dials a public peer back, or both sides behind
	// NAT dial each other at once.
	HolePunching bool
}

// DefaultHomeNAT is everything on: a home does not know whether it sits
// behind a NAT, so it finds out, and offers a relay if it does not.
func DefaultHomeNAT() NATConfig {
	return NATConfig{QUIC: true, AutoNAT: true, RelayService: true, AutoRelay: true, HolePunching: true}
}

// relay reports whether the host needs the relay transport: to reach a
// home through its relay, to be reached through one, or to relay.
func (c NATConfig) relay() bool { return c.RelayService || c.AutoRelay || c.HolePunching }

func (c NATConfig) validate() error {
	if (c.RelayService || c.AutoRelay) && !c.AutoNAT {
		return fmt.Errorf("NAT: RelayService and AutoRelay start on AutoNAT's verdict: they need AutoNAT")
	}
	return nil
}

// relayBootDelay: auto-relay's library default waits up to 3 minutes to
// collect as many relay candidates as it has static relays before it
// reserves with any. A home's static relays are its few bootstrap peers:
// one of them down would leave the home unreachable for those minutes.
// Reserve with the first that answers; the others follow.
const relayBootDelay = 0

// natOptions are the libp2p options cfg.NAT asks for; boot are the
// bootstrap peers, the static relays. tr counts hole punches.
func natOptions(cfg NATConfig, boot []peer.AddrInfo, tr *natTracer) []libp2p.Option {
	var opts []libp2p.Option
	if cfg.QUIC {
		opts = append(opts, libp2p.Transport(libp2pquic.NewTransport))
	}
	if !cfg.relay() {
		opts = append(opts, libp2p.DisableRelay())
	} else {
		opts = append(opts, libp2p.EnableRelay())
	}
	if cfg.AutoNAT {
		opts = append(opts, libp2p.EnableNATService(), libp2p.EnableAutoNATv2())
	}
	if cfg.RelayService {
		opts = append(opts, libp2p.EnableRelayService())
	}
	if cfg.AutoRelay && len(boot) > 0 {
		opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(boot, autorelay.WithBootDelay(relayBootDelay)))
	}
	if cfg.HolePunching {
		opts = append(opts, libp2p.EnableHolePunching(holepunch.WithTracer(tr)))
	}
	return opts
}

// withQUIC returns addrs with a QUIC address beside each TCP one (same
// IP, the TCP port as UDP port), unless addrs already name a QUIC one.
func withQUIC(addrs []ma.Multiaddr) []ma.Multiaddr {
	for _, a := range addrs {
		if isQUIC(a) {
			return addrs
		}
	}
	out := append([]ma.Multiaddr(nil), addrs...)
	for _, a := range addrs {
		port, err := a.ValueForProtocol(ma.P_TCP)
		if err != nil {
			continue
		}
		ip, _ := ma.SplitFirst(a)
		q, err := ma.NewMultiaddr(ip.String() + "/udp/" + port + "/quic-v1")
		if err != nil {
			continue
		}
		out = append(out, q)
	}
	return out
}

// isQUIC reports whether a is a QUIC v1 address.
func isQUIC(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_QUIC_V1)
	return err == nil
}

// natTracer counts DCUtR's outcomes. Written by the hole punching
// service's goroutines, read by anyone.
type natTracer struct {
	holePunches, holePunchFailures, directDials atomic.Uint64
}

// Trace implements holepunch.EventTracer.
func (t *natTracer) Trace(evt *holepunch.Event) {
	switch e := evt.Evt.(type) {
	case *holepunch.EndHolePunchEvt:
		if e.Success {
			t.holePunches.Add(1)
		} else {
			t.holePunchFailures.Add(1)
		}
	case *holepunch.DirectDialEvt:
		if e.Success {
			t.directDials.Add(1)
		}
	}
}

// ConnStats is what the host's connections look like now, and how NAT
// traversal went so far.
type ConnStats struct {
	// Direct connections, and Limited ones: relayed through a circuit
	// relay, limited in time and data; gossip does not use them, Raft
	// does until a direct one replaces them.
	Direct  int `json:"direct"`
	Limited int `json:"limited"`
	// Reachability is AutoNAT's verdict on this host: "public",
	// "private" or "unknown" (also when AutoNAT is off).
	Reachability string `json:"reachability"`
	// HolePunches and HolePunchFailures count DCUtR hole punches (both
	// sides dialing at once) by outcome; DirectDials counts relayed
	// connections replaced by this home dialing the other directly.
	HolePunches       uint64 `json:"hole_punches"`
	HolePunchFailures uint64 `json:"hole_punch_failures"`
	DirectDials       uint64 `json:"direct_dials"`
}

// ConnStats counts the host's open connections by kind and reports NAT
// traversal's figures.
func (m *Mesh) ConnStats() ConnStats {
	var s ConnStats
	for _, c := range m.host.Network().Conns() {
		if c.Stat().Limited {
			s.Limited++
		} else {
			s.Direct++
		}
	}
	s.Reachability = "unknown"
	if r, ok := m.host.(interface{ Reachability() network.Reachability }); ok {
		s.Reachability = strings.ToLower(r.Reachability().String())
	}
	s.HolePunches = m.nat.holePunches.Load()
	s.HolePunchFailures = m.nat.holePunchFailures.Load()
	s.DirectDials = m.nat.directDials.Load()
	return s
}
