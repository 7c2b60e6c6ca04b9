package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

func TestAddrs(t *testing.T) {
	m := meshtest.Open(t, meshtest.Config())
	if len(m.Addrs()) == 0 || len(m.Addrs()) != len(m.P2PAddrs()) {
		t.Fatalf("Addrs %v, P2PAddrs %v", m.Addrs(), m.P2PAddrs())
	}
	for i, a := range m.Addrs() {
		if !strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") || strings.Contains(a, "/p2p/") {
			t.Errorf("Addrs()[%d] = %s", i, a)
		}
		if want := a + "/p2p/" + m.ID().String(); m.P2PAddrs()[i] != want {
			t.Errorf("P2PAddrs()[%d] = %s, want %s", i, m.P2PAddrs()[i], want)
		}
	}
}

func TestAddPeerAddrs(t *testing.T) {
	m := meshtest.Open(t, meshtest.Config())
	other := meshtest.Open(t, meshtest.Config())
	id := other.ID()
	m.AddPeerAddrs(id, []string{
		"/ip4/10.1.2.3/tcp/4001",
		"not a multiaddr",
		"/ip4/10.1.2.4/tcp/4001/p2p/" + id.String(),
		"/ip4/10.1.2.5/tcp/4001/p2p/" + m.ID().String(), // names another peer
	})
	got := m.Host().Peerstore().Addrs(id)
	want := []ma.Multiaddr{ma.StringCast("/ip4/10.1.2.3/tcp/4001"), ma.StringCast("/ip4/10.1.2.4/tcp/4001")}
	for _, w := range want {
		if !slices.ContainsFunc(got, w.Equal) {
			t.Errorf("peerstore lacks %s: %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("peerstore has %v, want %v", got, want)
	}
}

// A peer that was down when dialed, and so is in the swarm's dial
// backoff, is dialable again as soon as it is heard from: a restarted
// home must not wait out the backoff before its leader reaches it.
func TestPeerHeardAgainIsDialable(t *testing.T) {
	m := meshtest.Open(t, meshtest.Config())
	key := meshtest.NewKey(t)
	id, _ := peer.IDFromPrivateKey(key)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // down: nothing listens there now

	m.Host().Peerstore().AddAddr(id, ma.StringCast(addr), time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Host().Connect(ctx, peer.AddrInfo{ID: id}); err == nil {
		t.Fatal("dialed a peer that is down")
	}
	cfg := meshtest.Config()
	cfg.ListenAddrs = []string{addr}
	meshtest.OpenKey(t, cfg, key) // back up, at the same address
	if err := m.Host().Connect(ctx, peer.AddrInfo{ID: id}); !errors.Is(err, swarm.ErrDialBackoff) {
		t.Fatalf("redial before it was heard from: %v, want the swarm's dial backoff", err)
	}
	m.AddPeerAddrs(id, []string{addr}) // its telemetry arrives
	if err := m.Host().Connect(ctx, peer.AddrInfo{ID: id}); err != nil {
		t.Fatalf("dial after it was heard from: %v", err)
	}
}

// go-libp2p's resource manager has limited connections per IP, silently,
// and a testnet puts every host on 127.0.0.1: a hub must take them all.
func TestManyHostsConnectToOne(t *testing.T) {
	homes := 24
	if testing.Short() {
		homes = 8 // still more than one host dialing at once
	}
	hub := meshtest.Open(t, meshtest.Config())
	cfg := meshtest.Config()
	cfg.Bootstrap = hub.P2PAddrs()
	all := make([]*mesh.Mesh, homes)
	for i := range all {
		all[i] = meshtest.Open(t, cfg)
		meshtest.Run(t, all[i])
	}
	meshtest.Eventually(t, "every home connected to the hub", func() bool {
		return len(hub.Host().Network().Peers()) == homes
	})
	for i, m := range all {
		if c := m.Host().Network().Connectedness(hub.ID()); c != network.Connected {
			t.Errorf("home %d: %v to the hub", i, c)
		}
	}
}

// MaxConns reaches loopback: beyond it the hub refuses connections.
func TestMaxConnsCapsLoopback(t *testing.T) {
	const maxConns = 4
	cfg := meshtest.Config()
	cfg.MaxConns, cfg.LowWaterConns, cfg.HighWaterConns, cfg.ConnsPerIP = maxConns, 1, maxConns, 1
	hub := meshtest.Open(t, cfg)
	ok := 0
	for range maxConns + 3 {
		m := meshtest.Open(t, meshtest.Config())
		ctx, cancel := context.WithTimeout(t.Context(), meshtest.Timeout)
		if m.Host().Connect(ctx, peer.AddrInfo{ID: hub.ID(), Addrs: hub.Host().Addrs()}) == nil {
			ok++
		}
		cancel()
	}
	meshtest.Eventually(t, "the hub's refusals to settle", func() bool {
		return len(hub.Host().Network().Conns()) <= maxConns
	})
	if ok < maxConns || len(hub.Host().Network().Conns()) != maxConns {
		t.Fatalf("%d dials succeeded, hub holds %d connections; want %d", ok, len(hub.Host().Network().Conns()), maxConns)
	}
}
