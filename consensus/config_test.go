package consensus_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/consensus"
)

func peerID(t *testing.T) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func TestConfigValidate(t *testing.T) {
	a, b := peerID(t), peerID(t)
	valid := func() consensus.Config {
		c := consensus.DefaultConfig()
		c.Neighborhood = "nb-1"
		c.LocalID = a
		c.Servers = []consensus.Server{{ID: a, Voter: true}, {ID: b}}
		return c
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	selfOrganizing := valid()
	selfOrganizing.Servers = nil
	if err := selfOrganizing.Validate(); err != nil {
		t.Fatalf("config with no servers (self-organizing) refused: %v", err)
	}
	for name, mod := range map[string]func(*consensus.Config){
		"bad neighborhood":     func(c *consensus.Config) { c.Neighborhood = "a/b" },
		"local not a peer ID":  func(c *consensus.Config) { c.Servers, c.LocalID = nil, "home-1" },
		"not a peer ID":        func(c *consensus.Config) { c.Servers[1].ID = "home-2" },
		"duplicate server":     func(c *consensus.Config) { c.Servers[1].ID = a },
		"no voter":             func(c *consensus.Config) { c.Servers[0].Voter = false },
		"local not a server":   func(c *consensus.Config) { c.LocalID = peerID(t) },
		"heartbeat too low":    func(c *consensus.Config) { c.HeartbeatTimeout = time.Millisecond },
		"election < heartbeat": func(c *consensus.Config) { c.ElectionTimeout = c.HeartbeatTimeout / 2 },
		"lease > heartbeat":    func(c *consensus.Config) { c.LeaderLeaseTimeout = c.HeartbeatTimeout + 1 },
		"lease too low":        func(c *consensus.Config) { c.LeaderLeaseTimeout = time.Millisecond },
		"commit too low":       func(c *consensus.Config) { c.CommitTimeout = 0 },
		"no apply timeout":     func(c *consensus.Config) { c.ApplyTimeout = 0 },
		"no snapshots":         func(c *consensus.Config) { c.SnapshotThreshold = 0 },
	} {
		c := valid()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
