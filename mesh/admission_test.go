package mesh_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

func refused(m *mesh.Mesh, detail string) uint64 {
	return m.Rejections()[mesh.ReasonAdmissionRefused+"/"+detail]
}

func totalRefused(m *mesh.Mesh) uint64 {
	var n uint64
	for k, v := range m.Rejections() {
		if strings.HasPrefix(k, mesh.ReasonAdmissionRefused+"/") {
			n += v
		}
	}
	return n
}

func connected(a host.Host, b peer.ID) bool { return a.Network().Connectedness(b) == network.Connected }

func newPeerID(t *testing.T) peer.ID {
	id, err := peer.IDFromPrivateKey(meshtest.NewKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// dial tries once to connect a to b, past the swarm's dial backoff.
func dial(t *testing.T, a host.Host, b host.Host) error {
	ctx, cancel := context.WithTimeout(network.WithForceDirectDial(t.Context(), "test"), meshtest.Timeout)
	defer cancel()
	return a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()})
}

// Members admit each other; a home of another neighborhood stays
// connected but is admitted by neither side; nobody is refused, even past
// the deadline. In memory, in a synctest bubble: waiting out the deadline
// takes no real time.
func TestMembersAdmitEachOther(t *testing.T) { synctest.Test(t, testMembersAdmitEachOther) }

func testMembersAdmitEachOther(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	inMemory := mesh.WithTransport(meshtest.NewMemNetwork().Transport())
	a := nb.OpenMember(t, meshtest.Config(), "h1", inMemory)
	b := nb.OpenMember(t, meshtest.Config(), "h2", inMemory)
	c := meshtest.NewNeighborhood(t, "feeder-2").OpenMember(t, meshtest.Config(), "h3", inMemory)
	for _, m := range []*mesh.Mesh{a, b, c} {
		meshtest.Run(t, m)
	}
	if !a.Admitted(a.ID()) || a.Admitted(b.ID()) {
		t.Fatalf("before connecting: self admitted %v, b admitted %v", a.Admitted(a.ID()), a.Admitted(b.ID()))
	}
	meshtest.Connect(t, a.Host(), b.Host())
	meshtest.Connect(t, c.Host(), a.Host())
	meshtest.Eventually(t, "a and b to admit each other", func() bool { return a.Admitted(b.ID()) && b.Admitted(a.ID()) })

	// Wait out the deadline (twice over, in virtual time), then look.
	time.Sleep(2 * meshtest.AdmissionTimeout)
	if !connected(a.Host(), b.ID()) || !connected(a.Host(), c.ID()) {
		t.Errorf("connections dropped: a-b %v, a-c %v", connected(a.Host(), b.ID()), connected(a.Host(), c.ID()))
	}
	if a.Admitted(c.ID()) || c.Admitted(a.ID()) {
		t.Error("homes of different neighborhoods admitted each other")
	}
	for _, m := range []*mesh.Mesh{a, b, c} {
		if n := totalRefused(m); n != 0 {
			t.Errorf("%s refused %d peers: %v", m.ID(), n, m.Rejections())
		}
	}
}

// A peer that presents nothing is refused once the deadline passes: its
// connection is closed and it can reach the home no more, either way.
func TestStrangerRefusedAfterDeadline(t *testing.T) {
	home := meshtest.NewNeighborhood(t, nbhd).OpenMember(t, meshtest.Config(), "h1")
	meshtest.Run(t, home)
	stranger := meshtest.NewAttacker(t)
	meshtest.Connect(t, stranger.Host, home.Host())

	meshtest.Eventually(t, "the stranger to be refused and disconnected", func() bool {
		return refused(home, mesh.DetailNoCertificate) == 1 &&
			!connected(home.Host(), stranger.Host.ID()) && !connected(stranger.Host, home.ID())
	})
	if home.Admitted(stranger.Host.ID()) {
		t.Error("refused stranger admitted")
	}
	var again atomic.Bool
	home.Host().Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == stranger.Host.ID() {
			again.Store(true)
		}
	}})
	// The muxer is chosen inside the Noise handshake, so the dialer may
	// believe it connected for the moment before the home's gater, which
	// judges the peer once the handshake is done, closes the connection.
	_ = dial(t, stranger.Host, home.Host())
	meshtest.Eventually(t, "the stranger's new connection to close", func() bool { return !connected(stranger.Host, home.ID()) })
	if again.Load() {
		t.Error("the refused stranger connected again")
	}
	if err := dial(t, home.Host(), stranger.Host); err == nil {
		t.Error("the home dialed the refused stranger")
	}
	if n := refused(home, mesh.DetailNoCertificate); n != 1 {
		t.Errorf("refusals counted %d times, want once", n)
	}
}

// Every kind of bad certificate is refused at once, for its reason.
func TestBadCertificatesRefused(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	home := nb.OpenMember(t, meshtest.Config(), "h1")
	meshtest.Run(t, home)
	now := time.Now()
	forger := meshtest.NewNeighborhood(t, nbhd) // same name, another key
	elsewhere := meshtest.NewNeighborhood(t, "feeder-2")
	for _, tc := range []struct {
		name   string
		cert   func(self peer.ID) gridmesh.Membership
		detail string
	}{
		{"expired", func(p peer.ID) gridmesh.Membership {
			return nb.CertificateFor(t, p, "r", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
		}, mesh.DetailExpired},
		{"not yet valid", func(p peer.ID) gridmesh.Membership {
			return nb.CertificateFor(t, p, "r", now.Add(time.Hour), now.Add(2*time.Hour))
		}, mesh.DetailNotYetValid},
		{"another peer's", func(peer.ID) gridmesh.Membership {
			return nb.Certificate(t, newPeerID(t), "r")
		}, mesh.DetailWrongPeer},
		{"forged", func(p peer.ID) gridmesh.Membership { return forger.Certificate(t, p, "r") }, mesh.DetailBadSignature},
		{"another neighborhood's", func(p peer.ID) gridmesh.Membership { return elsewhere.Certificate(t, p, "r") }, mesh.DetailWrongNeighborhood},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rogue := meshtest.NewAttacker(t)
			meshtest.Connect(t, rogue.Host, home.Host())
			ctx, cancel := context.WithTimeout(t.Context(), meshtest.Timeout)
			defer cancel()
			// Presented on this neighborhood's protocol, whatever it says.
			if err := mesh.Present(ctx, rogue.Host, home.ID(), nbhd, tc.cert(rogue.Host.ID())); err != nil {
				t.Fatal(err)
			}
			meshtest.Eventually(t, "the rogue to be refused as "+tc.detail, func() bool {
				return refused(home, tc.detail) == 1 && !connected(home.Host(), rogue.Host.ID())
			})
			if home.Admitted(rogue.Host.ID()) {
				t.Error("rogue admitted")
			}
		})
	}
	t.Run("undecodable", func(t *testing.T) {
		rogue := meshtest.NewAttacker(t)
		meshtest.Connect(t, rogue.Host, home.Host())
		s, err := rogue.Host.NewStream(t.Context(), home.ID(), mesh.AdmitProtocol(nbhd))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(make([]byte, mesh.MaxMembershipBytes+1)); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		meshtest.Eventually(t, "the rogue to be refused as undecodable", func() bool {
			return refused(home, mesh.DetailUndecodable) == 1 && !connected(home.Host(), rogue.Host.ID())
		})
	})
	if n := refused(home, mesh.DetailNoCertificate); n != 0 {
		t.Errorf("%d refused for no certificate: a bad one should be refused for what is wrong with it", n)
	}
}

// A member of another neighborhood (a region peer: its certificate
// verifies against that neighborhood's key) publishes on this
// neighborhood's topics a plan of the current term while the home's Raft
// view names it leader (so only membership stands in its way) and
// telemetry: both are rejected as non-member and never delivered.
func TestRegionPeerNeighborhoodGossipRejected(t *testing.T) {
	nb, other := meshtest.NewNeighborhood(t, nbhd), meshtest.NewNeighborhood(t, "feeder-2")
	cfg := meshtest.Config()
	cfg.Region.NeighborhoodKeys = map[gridmesh.NeighborhoodID]ed25519.PublicKey{other.ID: other.Pub}
	key := meshtest.NewKey(t)
	cfg.Admission = nb.Admission(t, key, "h1")
	home := meshtest.OpenKey(t, cfg, key)
	meshtest.Run(t, home)
	stranger := meshtest.NewAttacker(t)
	view := meshtest.NewLeaders(stranger.Host.ID(), 3)
	hn := join(t, home, nbhd, view, true)
	meshtest.Connect(t, stranger.Host, home.Host())
	stranger.Present(t, home.ID(), other.ID, other.Certificate(t, stranger.Host.ID(), "h9"))
	meshtest.Eventually(t, "the region peer to be cleared", func() bool { return home.Cleared(stranger.Host.ID()) })
	if home.Admitted(stranger.Host.ID()) {
		t.Fatal("a member of another neighborhood is admitted to this one")
	}

	p, err := mesh.EncodePlan(plan(nbhd, 3, 1))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := mesh.EncodeTelemetry(telemetry("h9", nbhd, 1))
	if err != nil {
		t.Fatal(err)
	}
	stranger.Publish(t, mesh.TopicName(cfg.Network, nbhd, "plan"), home.ID(), p)
	stranger.Publish(t, mesh.TopicName(cfg.Network, nbhd, "telemetry"), home.ID(), tm)
	meshtest.Eventually(t, "both messages to be rejected as non-member", func() bool {
		return home.Rejections()[mesh.ReasonNonMember] == 2
	})

	// The first plan and report the home gets are its own.
	view.Set(home.ID(), 3)
	if err := hn.PublishPlan(t.Context(), plan(nbhd, 3, 2)); err != nil {
		t.Fatal(err)
	}
	if got, author, err := hn.NextPlan(timeout(t)); err != nil || author != home.ID() || got.Epoch.Index != 2 {
		t.Fatalf("first plan delivered: %s from %s, %v", got.Epoch, author, err)
	}
	if err := hn.PublishTelemetry(t.Context(), telemetry("h1", nbhd, 1)); err != nil {
		t.Fatal(err)
	}
	if got, author, err := hn.NextTelemetry(timeout(t)); err != nil || author != home.ID() || got.Home != "h1" {
		t.Fatalf("first telemetry delivered: %s from %s, %v", got.Home, author, err)
	}
}

// A member's plan crosses a home it never connected to: the forwarder is
// admitted, and vouches for the author it admitted.
func TestRelayedMemberPlanAccepted(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	leader := nb.OpenMember(t, meshtest.Config(), "h0")
	mid := nb.OpenMember(t, meshtest.Config(), "h1")
	far := nb.OpenMember(t, meshtest.Config(), "h2")
	view := meshtest.NewLeaders(leader.ID(), 3)
	ms := []*mesh.Mesh{leader, mid, far}
	ns := make([]*mesh.Neighborhood, len(ms))
	for i, m := range ms {
		meshtest.Run(t, m)
		ns[i] = join(t, m, nbhd, view, false)
	}
	meshtest.Connect(t, leader.Host(), mid.Host())
	meshtest.Connect(t, mid.Host(), far.Host())
	meshtest.Eventually(t, "neighbors to admit each other", func() bool {
		return mid.Admitted(leader.ID()) && leader.Admitted(mid.ID()) && far.Admitted(mid.ID()) && mid.Admitted(far.ID())
	})
	waitPeers(t, "plan subscriptions to spread", ns[1].PlanPeers, leader.ID(), far.ID())
	waitPeers(t, "plan subscriptions to spread", ns[0].PlanPeers, mid.ID())
	waitPeers(t, "plan subscriptions to spread", ns[2].PlanPeers, mid.ID())
	if far.Admitted(leader.ID()) {
		t.Fatal("far admitted a leader it never met")
	}
	// A message published before mid grafts far into its gossip mesh
	// never reaches far, so the leader re-sends, as a real one does every
	// period.
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for ctx.Err() == nil {
			_ = ns[0].PublishPlan(ctx, plan(nbhd, 3, 5))
			time.Sleep(50 * time.Millisecond)
		}
	})
	got, author, err := ns[2].NextPlan(timeout(t))
	if err != nil || author != leader.ID() || got.Epoch.Index != 5 {
		t.Fatalf("far got %s from %s, %v; rejections mid %v far %v", got.Epoch, author, err, mid.Rejections(), far.Rejections())
	}
	if n := far.Rejections()[mesh.ReasonNonMember]; n != 0 {
		t.Errorf("%d non-member rejections among members", n)
	}
}

func TestAdmissionConfig(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	key := meshtest.NewKey(t)
	open := func(a *mesh.AdmissionConfig) error {
		cfg := meshtest.Config()
		cfg.Admission = a
		m, err := mesh.Open(context.Background(), cfg, key, meshtest.Logger(t))
		if err == nil {
			m.Close()
		}
		return err
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for name, a := range map[string]*mesh.AdmissionConfig{
		"another peer's certificate": mesh.DefaultAdmission(nb.Pub, nb.Certificate(t, newPeerID(t), "h1")),
		"expired certificate":        mesh.DefaultAdmission(nb.Pub, nb.CertificateFor(t, self, "h1", now.Add(-2*time.Hour), now.Add(-time.Hour))),
		"another key":                mesh.DefaultAdmission(meshtest.NewNeighborhood(t, nbhd).Pub, nb.Certificate(t, self, "h1")),
		"short key":                  mesh.DefaultAdmission(nb.Pub[:5], nb.Certificate(t, self, "h1")),
		"no timeout":                 {NeighborhoodKey: nb.Pub, Own: nb.Certificate(t, self, "h1"), BlockFor: time.Hour},
		"no certificate":             mesh.DefaultAdmission(nb.Pub, gridmesh.Membership{}),
	} {
		if err := open(a); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
	if err := open(mesh.DefaultAdmission(nb.Pub, nb.Certificate(t, self, "h1"))); err != nil {
		t.Fatalf("a valid admission refused: %v", err)
	}

	cfg := meshtest.Config()
	other := meshtest.NewKey(t)
	cfg.Admission = nb.Admission(t, other, "h1")
	m := meshtest.OpenKey(t, cfg, other)
	if _, err := m.JoinNeighborhood("feeder-2", meshtest.NewLeaders("", 0), false); err == nil {
		t.Error("joined another neighborhood's topics with admission for " + string(nbhd))
	}
	if _, err := m.JoinNeighborhood(nbhd, meshtest.NewLeaders("", 0), false); err != nil {
		t.Errorf("join own neighborhood: %v", err)
	}

	// Admission off: everyone is admitted.
	if off := meshtest.Open(t, meshtest.Config()); !off.Admitted(newPeerID(t)) {
		t.Error("admission off, yet a peer is not admitted")
	}
}

// Present to a peer that does not speak admission fails, without harm.
func TestPresentToStranger(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	stranger := meshtest.NewAttacker(t)
	home := meshtest.NewAttacker(t)
	meshtest.Connect(t, home.Host, stranger.Host)
	ctx, cancel := context.WithTimeout(t.Context(), meshtest.Timeout)
	defer cancel()
	err := mesh.Present(ctx, home.Host, stranger.Host.ID(), nbhd, nb.Certificate(t, home.Host.ID(), "h1"))
	if err == nil {
		t.Fatal("presented to a peer without the protocol")
	}
	if err := mesh.Present(ctx, home.Host, stranger.Host.ID(), nbhd, gridmesh.Membership{}); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Fatalf("presenting an invalid certificate: %v", err)
	}
}
