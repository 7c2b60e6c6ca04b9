package memnet_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh/mesh/memnet"
)

const echo = "/memnet-test/echo/1"

func newHost(t *testing.T, n *memnet.Network, listen string) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings(listen), n.Transport(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// Two hosts on one network speak over a stream at the TCP address one
// listens on, through Noise and yamux as on sockets.
func TestHostsTalkAtTCPAddresses(t *testing.T) {
	n := memnet.New()
	a := newHost(t, n, "/ip4/127.0.0.1/tcp/4001")
	b := newHost(t, n, "/ip4/127.0.0.1/tcp/0")
	if got := a.Addrs(); len(got) != 1 || got[0].String() != "/ip4/127.0.0.1/tcp/4001" {
		t.Fatalf("a listens at %v, want /ip4/127.0.0.1/tcp/4001", got)
	}
	a.SetStreamHandler(echo, func(s network.Stream) {
		defer s.Close()
		_, _ = io.Copy(s, s)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	s, err := b.NewStream(ctx, a.ID(), echo)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "hello" {
		t.Fatalf("echo = %q, %v; want hello", got, err)
	}
	if c := b.Network().ConnsToPeer(a.ID()); len(c) != 1 || c[0].RemoteMultiaddr().String() != "/ip4/127.0.0.1/tcp/4001" {
		t.Fatalf("b's conns to a: %v", c)
	}
}

// A dial where nothing listens is refused, and a second host cannot take
// an address in use.
func TestRefusedAndAddressInUse(t *testing.T) {
	n := memnet.New()
	a := newHost(t, n, "/ip4/127.0.0.1/tcp/4001")
	nobody := newHost(t, memnet.New(), "/ip4/127.0.0.1/tcp/0") // another network: an identity to dial
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := a.Connect(ctx, peer.AddrInfo{ID: nobody.ID(), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4002")}})
	if !errors.Is(err, memnet.ErrRefused) {
		t.Fatalf("dial where nothing listens: %v, want ErrRefused", err)
	}
	if h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/4001"), n.Transport()); err == nil {
		_ = h.Close()
		t.Fatal("a second host listened at an address in use")
	}
}
