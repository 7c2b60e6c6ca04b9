package mesh_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// A home's NAT traversal on loopback: it listens on QUIC beside TCP, two
// such homes connect (over QUIC, the transport the dialer prefers) and
// count the connection as direct. AutoNAT has no public address to judge
// here: reachability stays unknown.
func TestHomeNATOnLoopback(t *testing.T) {
	cfg := meshtest.Config()
	cfg.NAT = mesh.DefaultHomeNAT()
	a := meshtest.Open(t, cfg)
	b := meshtest.Open(t, cfg)
	var tcp, quic bool
	for _, s := range a.Addrs() {
		tcp = tcp || strings.Contains(s, "/tcp/")
		quic = quic || strings.HasSuffix(s, "/quic-v1")
	}
	if !tcp || !quic {
		t.Fatalf("addrs %v: want TCP and QUIC", a.Addrs())
	}
	meshtest.Connect(t, a.Host(), b.Host())
	st := a.ConnStats()
	if st.Direct < 1 || st.Limited != 0 || st.Reachability != "unknown" {
		t.Fatalf("conn stats %+v: want a direct connection, none limited, reachability unknown", st)
	}
	conns := a.Host().Network().ConnsToPeer(b.ID())
	if !slices.ContainsFunc(conns, func(c network.Conn) bool {
		_, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_QUIC_V1)
		return err == nil
	}) {
		t.Errorf("connections %v: want one over QUIC", conns)
	}
}

// With NAT traversal off (the default) a host speaks TCP alone and counts
// its connections all the same.
func TestConnStatsWithoutNAT(t *testing.T) {
	a := meshtest.Open(t, meshtest.Config())
	b := meshtest.Open(t, meshtest.Config())
	for _, s := range a.Addrs() {
		if !strings.Contains(s, "/tcp/") {
			t.Fatalf("addr %s: want TCP only", s)
		}
	}
	meshtest.Connect(t, a.Host(), b.Host())
	if st := a.ConnStats(); st.Direct != 1 || st.Limited != 0 || st.HolePunches != 0 {
		t.Fatalf("conn stats %+v: want one direct connection", st)
	}
}
