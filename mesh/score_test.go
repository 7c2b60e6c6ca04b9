package mesh_test

import (
	"slices"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// An admitted member that floods valid-looking telemetry is held to its
// rate, graylisted by the home it floods, then disconnected and kept out,
// and costs an honest member's reports nothing: they still arrive after
// the flood.
func TestFloodingMemberGraylisted(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	home := nb.OpenMember(t, meshtest.Config(), "h1")
	honest := nb.OpenMember(t, meshtest.Config(), "h2")
	for _, m := range []*mesh.Mesh{home, honest} {
		meshtest.Run(t, m)
	}
	leaders := meshtest.NewLeaders("", 0)
	hn := join(t, home, nbhd, leaders, true)
	on := join(t, honest, nbhd, leaders, false)

	flooder := meshtest.NewAttacker(t)
	meshtest.Connect(t, flooder.Host, home.Host())
	flooder.Present(t, home.ID(), nbhd, nb.Certificate(t, flooder.Host.ID(), "flooder"))
	meshtest.Eventually(t, "the flooder to be admitted", func() bool { return home.Admitted(flooder.Host.ID()) })

	topic := mesh.TopicName(meshtest.Config().Network, nbhd, "telemetry")
	const flood = 2000
	for seq := range uint64(flood) {
		if home.Host().Network().Connectedness(flooder.Host.ID()) != network.Connected {
			break // shut out (below)
		}
		b, err := mesh.EncodeTelemetry(telemetry("flooder", nbhd, seq+1))
		if err != nil {
			t.Fatal(err)
		}
		flooder.Publish(t, topic, home.ID(), b)
	}
	meshtest.Eventually(t, "the flooder to be graylisted", func() bool {
		return slices.Contains(home.PeerScores().Graylisted, flooder.Host.ID())
	})
	rej := home.Rejections()
	if refused := rej[mesh.ReasonAuthorOverRate] + rej[mesh.ReasonPeerOverRate]; refused == 0 {
		t.Errorf("no flood message refused for its rate: %v", rej)
	}
	// Graylisted, it is shut out at the connection: disconnected, counted
	// once, and its next dial refused.
	meshtest.Eventually(t, "the graylisted flooder to be disconnected", func() bool {
		return home.Host().Network().Connectedness(flooder.Host.ID()) != network.Connected
	})
	if n := home.Rejections()[mesh.ReasonAdmissionRefused+"/"+mesh.DetailGraylisted]; n != 1 {
		t.Errorf("graylisted peers shut out: %d, want 1", n)
	}
	err := flooder.Host.Connect(timeout(t), peer.AddrInfo{ID: home.ID(), Addrs: home.Host().Addrs()})
	if err == nil && home.Host().Network().Connectedness(flooder.Host.ID()) == network.Connected {
		t.Errorf("the graylisted flooder connected again")
	}

	// The honest member's reports still reach the home.
	meshtest.Connect(t, honest.Host(), home.Host())
	meshtest.Eventually(t, "the members to admit each other", func() bool { return home.Admitted(honest.ID()) && honest.Admitted(home.ID()) })
	waitPeers(t, "the home's subscription to reach the honest member", on.TelemetryPeers, home.ID())
	if err := on.PublishTelemetry(timeout(t), telemetry("h2", nbhd, 1)); err != nil {
		t.Fatal(err)
	}
	for {
		got, from, err := hn.NextTelemetry(timeout(t))
		if err != nil {
			t.Fatalf("the honest report never arrived: %v", err)
		}
		if from == honest.ID() {
			if got.Home != gridmesh.HomeID("h2") {
				t.Errorf("got %s's report", got.Home)
			}
			break
		}
	}
}
