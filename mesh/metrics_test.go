package mesh_test

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// libp2pFamilies returns the libp2p_* families g gathers; a gather error
// (a collision inside the registry) fails the test.
func libp2pFamilies(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var out []string
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "libp2p_") {
			out = append(out, mf.GetName())
		}
	}
	return out
}

// Hosts of one process on registries of their own do not collide, nor
// does a host opened again on the same registry (a home's network
// reopening); a host given no registry touches no registry at all, the
// global one included. (The global registry is the process's: every
// host the package's tests open, the attacker's too, keeps off it.)
func TestHostsOnRegistriesOfTheirOwn(t *testing.T) {
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	ma := meshtest.Open(t, meshtest.Config(), mesh.WithRegisterer(a))
	mb := meshtest.Open(t, meshtest.Config(), mesh.WithRegisterer(b))
	meshtest.Connect(t, ma.Host(), mb.Host())
	if err := ma.Close(); err != nil {
		t.Fatal(err)
	}
	meshtest.Open(t, meshtest.Config(), mesh.WithRegisterer(a)) // opened again on a
	meshtest.Open(t, meshtest.Config())                         // no registry

	fa, fb := libp2pFamilies(t, a), libp2pFamilies(t, b)
	if len(fa) == 0 || len(fb) == 0 {
		t.Fatalf("go-libp2p's metrics missing: %d families in one registry, %d in the other", len(fa), len(fb))
	}
	if global := libp2pFamilies(t, prometheus.DefaultGatherer); len(global) != 0 {
		t.Errorf("go-libp2p's metrics in the global registry: %v", global)
	}
	t.Logf("%d libp2p families per registry", len(fa))
}

// Traffic counts a telemetry report once as sent by its author and once
// as received by the voter, under its kind of topic.
func TestTrafficCountsByTopic(t *testing.T) { synctest.Test(t, testTrafficCountsByTopic) }

func testTrafficCountsByTopic(t *testing.T) {
	voter, home, vn, hn := voterAndHome(t)
	if err := hn.PublishTelemetry(t.Context(), telemetry("h1", nbhd, 1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := vn.NextTelemetry(timeout(t)); err != nil {
		t.Fatal(err)
	}
	sent, got := home.Traffic()[mesh.TopicTelemetry], voter.Traffic()[mesh.TopicTelemetry]
	if sent.Sent != 1 || sent.Received != 0 {
		t.Errorf("author's telemetry traffic %+v, want one sent, none received", sent)
	}
	if got.Received != 1 {
		t.Errorf("voter's telemetry traffic %+v, want one received", got)
	}
	if p := voter.Traffic()[mesh.TopicPlan]; p != (mesh.TopicTraffic{}) {
		t.Errorf("plan traffic %+v, want none", p)
	}
	if n := home.ConnectedPeers(); n != 1 {
		t.Errorf("%d peers connected, want 1", n)
	}
	// The wire counters see the report's RPC on both ends: what one sent,
	// the other received (subscriptions and control travel too).
	hw, vw := home.Wire(), voter.Wire()
	if hw.RPCsSent == 0 || vw.RPCsReceived == 0 || hw.BytesSent == 0 || vw.BytesReceived == 0 {
		t.Errorf("wire counters home %+v, voter %+v: want RPCs and bytes both ways", hw, vw)
	}
	if hw.BytesSent < uint64(sent.Sent)*telemetryMinBytes {
		t.Errorf("home sent %d bytes for %d reports, want at least %d a report", hw.BytesSent, sent.Sent, telemetryMinBytes)
	}
}

// telemetryMinBytes is less than any signed telemetry report's gossip
// message: its 64-byte signature alone.
const telemetryMinBytes = 64
