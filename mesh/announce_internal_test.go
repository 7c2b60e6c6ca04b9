package mesh

import (
	"slices"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

// A home behind NAT has more addresses than telemetry carries: the
// public direct ones go first, its relay circuits next, its LAN's last,
// and the list is cut at the bound.
func TestAnnounced(t *testing.T) {
	const relay = "/p2p/12D3KooWLRPJAA5o6r1qWJg1xtuyNRgRwoEGMAgZy3Xc6GVQX6yE/p2p-circuit"
	in := []string{
		"/ip4/192.168.1.2/tcp/4001",
		"/ip4/11.77.1.2/tcp/4001" + relay,
		"/ip4/192.168.1.2/udp/4001/quic-v1",
		"/ip4/11.77.1.6/udp/4001/quic-v1",
		"/ip4/11.77.1.2/udp/4001/quic-v1" + relay,
		"/ip4/11.77.1.6/tcp/4001",
	}
	var addrs []ma.Multiaddr
	for _, s := range in {
		addrs = append(addrs, ma.StringCast(s))
	}
	for _, tc := range []struct {
		max  int
		want []string
	}{
		{6, []string{in[3], in[5], in[1], in[4], in[0], in[2]}},
		{4, []string{in[3], in[5], in[1], in[4]}},
		{1, []string{in[3]}},
	} {
		if got := announced(addrs, tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("max %d: %v, want %v", tc.max, got, tc.want)
		}
	}
	loopback := []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/1"), ma.StringCast("/ip4/127.0.0.1/udp/1/quic-v1")}
	if got := announced(loopback, 8); len(got) != 2 {
		t.Errorf("loopback: %v, want both", got)
	}
}
