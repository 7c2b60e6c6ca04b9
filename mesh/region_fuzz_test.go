package mesh

import (
	"testing"

	"github.com/gridmesh/gridmesh"
)

func FuzzDecodeRegionMessage(f *testing.F) {
	sig := gridmesh.Signal{
		Version: gridmesh.WireVersion, ID: "reg-1", Kind: gridmesh.SignalRegulation, Region: "north",
		StartMs: 1_764_000_000_000, EndMs: 1_764_000_600_000, AmountW: 50_000, Seq: 3, Value: -0.4,
		Signature: make([]byte, 64),
	}
	agg := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 2, Index: 9},
		AtMs: 1_764_000_000_000, ForS: 15, UpW: 3000, DownW: 4000, UpWh: 5000, DownWh: 6000,
	}
	cert := gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Peer: "12D3KooW", Home: "h1",
		IssuedMs: 1, ExpiresMs: 2, Signature: make([]byte, 64),
	}
	for _, m := range []RegionMessage{
		{Version: gridmesh.WireVersion, Signal: &sig},
		{Version: gridmesh.WireVersion, Aggregate: &agg},
		{Version: gridmesh.WireVersion, Aggregate: &agg, Membership: &cert},
	} {
		b, err := encMode.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) { checkRoundTrip(t, data, DecodeRegionMessage) })
}

func FuzzDecodeLeaderHints(f *testing.F) {
	for _, h := range []LeaderHints{
		{Version: gridmesh.WireVersion, Leaders: []LeaderHint{}},
		{Version: gridmesh.WireVersion, Leaders: []LeaderHint{{
			Peer:  "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
			Addrs: []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"},
		}}},
	} {
		b, err := encMode.Marshal(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) { checkRoundTrip(t, data, DecodeLeaderHints) })
}
