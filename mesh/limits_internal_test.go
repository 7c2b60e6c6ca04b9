package mesh

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

// Relayed connections reach a home through its relay's address: they
// do not use up that address's allowance, and direct connections from
// the relay's address still stop at ConnsPerIP.
func TestRelayedConnsNotCountedPerIP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConnsPerIP = 4
	rm, err := newResourceManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	const relay = "/ip4/11.77.1.2/tcp/4001/p2p/12D3KooWLRPJAA5o6r1qWJg1xtuyNRgRwoEGMAgZy3Xc6GVQX6yE"
	var scopes []network.ConnManagementScope
	defer func() {
		for _, s := range scopes {
			s.Done()
		}
	}()
	for i := range cfg.ConnsPerIP {
		s, err := rm.OpenConnection(network.DirInbound, true, ma.StringCast(relay+"/p2p-circuit"))
		if err != nil {
			t.Fatalf("relayed connection %d: %v", i+1, err)
		}
		scopes = append(scopes, s)
	}
	direct := 0
	for range cfg.ConnsPerIP + 1 {
		s, err := rm.OpenConnection(network.DirInbound, true, ma.StringCast("/ip4/11.77.1.2/tcp/50000"))
		if err != nil {
			break
		}
		scopes = append(scopes, s)
		direct++
	}
	if direct != cfg.ConnsPerIP {
		t.Fatalf("%d direct connections from one address let in; want ConnsPerIP = %d", direct, cfg.ConnsPerIP)
	}
}

func TestCircuitPart(t *testing.T) {
	for in, want := range map[string]string{
		"/ip4/1.2.3.4/tcp/1/p2p/12D3KooWLRPJAA5o6r1qWJg1xtuyNRgRwoEGMAgZy3Xc6GVQX6yE/p2p-circuit": "/p2p-circuit",
		"/ip4/1.2.3.4/udp/1/quic-v1": "/ip4/1.2.3.4/udp/1/quic-v1",
	} {
		if got := circuitPart(ma.StringCast(in)).String(); got != want {
			t.Errorf("circuitPart(%s) = %s, want %s", in, got, want)
		}
	}
}
