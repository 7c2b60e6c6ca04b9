package mesh_test

import (
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/mesh"
)

func TestConfigValidate(t *testing.T) {
	if err := mesh.DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	const id = "12D3KooWLRPJAA5o6r1qWJg1xtuyNRgRwoEGMAgZy3Xc6GVQX6yE"
	for _, tc := range []struct {
		name string
		edit func(*mesh.Config)
		want string // in the error
	}{
		{"bad network", func(c *mesh.Config) { c.Network = "a/b" }, `network name "a/b"`},
		{"no listen", func(c *mesh.Config) { c.ListenAddrs = nil }, "no listen address"},
		{"bad listen", func(c *mesh.Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/x"} }, `"/ip4/127.0.0.1/tcp/x"`},
		{"udp listen", func(c *mesh.Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic-v1"} }, "not TCP"},
		{"bad bootstrap", func(c *mesh.Config) { c.Bootstrap = []string{"/ip4/10.0.0.300/tcp/1/p2p/" + id} }, `"/ip4/10.0.0.300/tcp/1/p2p/` + id + `"`},
		{"bootstrap without peer", func(c *mesh.Config) { c.Bootstrap = []string{"/ip4/10.0.0.1/tcp/1"} }, `"/ip4/10.0.0.1/tcp/1" must be`},
		{"bootstrap without address", func(c *mesh.Config) { c.Bootstrap = []string{"/p2p/" + id} }, "must be a transport address"},
		{"water marks", func(c *mesh.Config) { c.LowWaterConns = c.HighWaterConns }, "LowWaterConns"},
		{"high above max", func(c *mesh.Config) { c.HighWaterConns = c.MaxConns + 1 }, "HighWaterConns"},
		{"conns per ip", func(c *mesh.Config) { c.ConnsPerIP = 0 }, "ConnsPerIP"},
		{"heartbeat", func(c *mesh.Config) { c.GossipHeartbeat = 0 }, "GossipHeartbeat"},
		{"inbox", func(c *mesh.Config) { c.InboxSize = 0 }, "InboxSize"},
		{"redial", func(c *mesh.Config) { c.RedialMin = 2 * c.RedialMax }, "RedialMin"},
		{"relay without autonat", func(c *mesh.Config) { c.NAT = mesh.NATConfig{RelayService: true} }, "need AutoNAT"},
		{"auto relay without autonat", func(c *mesh.Config) { c.NAT = mesh.NATConfig{AutoRelay: true} }, "need AutoNAT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mesh.DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %s", err, tc.want)
			}
		})
	}
	cfg := mesh.DefaultConfig()
	cfg.Bootstrap = []string{"/ip4/10.0.0.1/tcp/1/p2p/" + id, "/ip6/::1/tcp/1/p2p/" + id}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("two addresses of one bootstrap peer: %v", err)
	}
	cfg = mesh.DefaultConfig()
	cfg.NAT = mesh.DefaultHomeNAT()
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a QUIC listen address with QUIC on: %v", err)
	}
}
