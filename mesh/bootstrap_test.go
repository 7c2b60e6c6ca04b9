package mesh_test

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

func TestRunReconnectsBootstrapPeer(t *testing.T) {
	hub := meshtest.Open(t, meshtest.Config())
	cfg := meshtest.Config()
	cfg.Bootstrap = append(hub.P2PAddrs(), hub.P2PAddrs()...) // duplicates merge
	home := meshtest.Open(t, cfg)
	meshtest.Run(t, home)

	connID := func() string {
		conns := home.Host().Network().ConnsToPeer(hub.ID())
		if len(conns) == 0 {
			return ""
		}
		return conns[0].ID()
	}
	meshtest.Eventually(t, "the home to reach its bootstrap peer", func() bool { return connID() != "" })
	for range 3 {
		// The hub registers an inbound connection a moment after the home
		// does; closing before then would close nothing.
		meshtest.Eventually(t, "the hub to see the connection", func() bool {
			return hub.Host().Network().Connectedness(home.ID()) == network.Connected
		})
		first := connID()
		if err := hub.Host().Network().ClosePeer(home.ID()); err != nil {
			t.Fatal(err)
		}
		meshtest.Eventually(t, "a new connection after the hub dropped the home", func() bool {
			id := connID()
			return id != "" && id != first
		})
	}
	if c := home.Host().Network().Connectedness(hub.ID()); c != network.Connected {
		t.Fatalf("home is %v to the hub", c)
	}
}

func TestRunTwice(t *testing.T) {
	m := meshtest.Open(t, meshtest.Config())
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Run(done); err != nil {
		t.Fatalf("Run with an ended context: %v", err)
	}
	if err := m.Run(t.Context()); err == nil {
		t.Fatal("second Run returned nil")
	}
}
