package mesh_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// countingHost counts the streams opened to it on each protocol before
// handing them on: a gossip stream is counted before gossipsub reads a
// byte of it.
type countingHost struct {
	host.Host
	inbound *atomic.Int64
}

func (c countingHost) SetStreamHandler(pid protocol.ID, h network.StreamHandler) {
	c.Host.SetStreamHandler(pid, func(s network.Stream) { c.inbound.Add(1); h(s) })
}

// A foreign libp2p peer (plain go-libp2p and gossipsub, configured here,
// nothing of package mesh) without a certificate dials an admitted home
// that publishes telemetry and plans all along, subscribed to the home's
// neighborhood and region topics. The home never opens a gossip stream
// to it, so it receives no message, and the home disconnects it within a
// second, as the foreign host's own notifications time it. A member
// connected meanwhile receives the home's reports: the gate holds back
// strangers, not gossip.
func TestForeignPeerGetsNothingAndIsDisconnected(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	cfg := meshtest.Config()
	key := meshtest.NewKey(t)
	id, _ := peer.IDFromPrivateKey(key)
	cfg.Admission = mesh.DefaultAdmission(nb.Pub, nb.Certificate(t, id, "h1")) // the product's timeout
	home := meshtest.OpenKey(t, cfg, key)
	member := nb.OpenMember(t, meshtest.Config(), "h2")
	meshtest.Run(t, home)
	meshtest.Run(t, member)
	view := meshtest.NewLeaders(home.ID(), 1)
	hn := join(t, home, nbhd, view, true)
	mn := join(t, member, nbhd, view, true)
	meshtest.Connect(t, member.Host(), home.Host())
	publishUntilDone(t, hn)
	if _, _, err := mn.NextTelemetry(timeout(t)); err != nil {
		t.Fatalf("the member got no telemetry: %v", err)
	}

	foreign, inbound := foreignHost(t)
	received := subscribeAll(t, foreign, []string{
		mesh.TopicName(cfg.Network, nbhd, "telemetry"), mesh.TopicName(cfg.Network, nbhd, "plan"), mesh.RegionTopic(cfg.Network),
	})
	var connectedAt, disconnectedAt time.Time
	gone := make(chan struct{})
	var once sync.Once
	foreign.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			if c.RemotePeer() == home.ID() && connectedAt.IsZero() {
				connectedAt = time.Now()
			}
		},
		DisconnectedF: func(n network.Network, c network.Conn) {
			if c.RemotePeer() == home.ID() && n.Connectedness(home.ID()) != network.Connected {
				once.Do(func() { disconnectedAt = time.Now(); close(gone) })
			}
		},
	})
	if err := foreign.Connect(timeout(t), peer.AddrInfo{ID: home.ID(), Addrs: home.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
	case <-time.After(meshtest.Timeout):
		t.Fatal("the foreign peer was never disconnected")
	}
	if d := disconnectedAt.Sub(connectedAt); d >= time.Second {
		t.Errorf("foreign peer connected for %v, want under 1 s", d)
	}
	t.Logf("foreign peer connected for %v", disconnectedAt.Sub(connectedAt))
	if n := inbound.Load(); n != 0 {
		t.Errorf("the home opened %d gossip streams to the foreign peer", n)
	}
	if n := received.Load(); n != 0 {
		t.Errorf("the foreign peer received %d gossip messages", n)
	}
	if n := refused(home, mesh.DetailNoCertificate); n != 1 {
		t.Errorf("refused for no certificate %d times, want 1", n)
	}
	if _, _, err := mn.NextTelemetry(timeout(t)); err != nil {
		t.Fatalf("the member got no telemetry after the stranger left: %v", err)
	}
}

// publishUntilDone publishes a report and a plan of the home every 20 ms
// until the test ends.
func publishUntilDone(t *testing.T, n *mesh.Neighborhood) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint64(1); ; seq++ {
			_ = n.PublishTelemetry(ctx, telemetry("h1", nbhd, seq))
			_ = n.PublishPlan(ctx, plan(nbhd, 1, seq))
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

// foreignHost starts a host configured from go-libp2p's own parts, with
// gossipsub's defaults on a host that counts its inbound streams.
func foreignHost(t *testing.T) (host.Host, *atomic.Int64) {
	h, err := libp2p.New(
		libp2p.Identity(meshtest.NewKey(t)),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.PrometheusRegisterer(prometheus.NewRegistry()),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	inbound := new(atomic.Int64)
	return countingHost{Host: h, inbound: inbound}, inbound
}

// subscribeAll runs gossipsub on h subscribed to topics and counts every message it delivers.
func subscribeAll(t *testing.T, h host.Host, topics []string) *atomic.Int64 {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	ps, err := pubsub.NewGossipSub(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	received := new(atomic.Int64)
	for _, name := range topics {
		sub, err := ps.Subscribe(name)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for {
				if _, err := sub.Next(ctx); err != nil {
					return
				}
				received.Add(1)
			}
		})
	}
	return received
}
