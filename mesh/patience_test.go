package mesh_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// A member whose certificate is still arriving when the admission
// timeout passes (its machine, or the home's, short of CPU) is admitted
// when it has arrived, not refused; the home counts it admitted late.
// In memory, in a synctest bubble: the member writes the start of its
// certificate at once and the rest three timeouts later.
func TestSlowMemberAdmittedLate(t *testing.T) { synctest.Test(t, testSlowMemberAdmittedLate) }

func testSlowMemberAdmittedLate(t *testing.T) {
	nb, home, slow := memberAndPeer(t)
	meshtest.Connect(t, slow.Host, home.Host())
	cert, err := mesh.EncodeMembership(nb.Certificate(t, slow.Host.ID(), "h2"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := slow.Host.NewStream(t.Context(), home.ID(), mesh.AdmitProtocol(nbhd))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(cert[:8]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * meshtest.AdmissionTimeout)
	if home.Admitted(slow.Host.ID()) || totalRefused(home) != 0 {
		t.Fatalf("judged before its certificate arrived: admitted %v, refusals %v", home.Admitted(slow.Host.ID()), home.Rejections())
	}
	if _, err := s.Write(cert[8:]); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	meshtest.Eventually(t, "the slow member to be admitted", func() bool { return home.Admitted(slow.Host.ID()) })
	time.Sleep(2 * meshtest.AdmissionTimeout)
	if n := totalRefused(home); n != 0 || !connected(home.Host(), slow.Host.ID()) {
		t.Errorf("slow member refused (%v) or disconnected (connected %v)", home.Rejections(), connected(home.Host(), slow.Host.ID()))
	}
	if n := home.Degraded()[mesh.DegradedAdmittedLate]; n != 1 {
		t.Errorf("admitted late counted %d times, want 1", n)
	}
}

// A peer that claims the neighborhood (its identify record lists the
// neighborhood's admission protocol) and presents nothing is refused
// once the timeout has passed, counted once, and dials back in vain
// while its block lasts.
func TestClaimingStrangerRefused(t *testing.T) { synctest.Test(t, testClaimingStrangerRefused) }

func testClaimingStrangerRefused(t *testing.T) {
	_, home, stranger := memberAndPeer(t)
	stranger.Host.SetStreamHandler(mesh.AdmitProtocol(nbhd), func(s network.Stream) { _ = s.Reset() })
	meshtest.Connect(t, stranger.Host, home.Host())
	meshtest.Eventually(t, "the stranger to be refused", func() bool {
		return refused(home, mesh.DetailNoCertificate) == 1 && !connected(home.Host(), stranger.Host.ID())
	})
	if home.Admitted(stranger.Host.ID()) {
		t.Error("a stranger claiming the neighborhood was admitted")
	}
	if err := dial(t, stranger.Host, home.Host()); err == nil {
		meshtest.Eventually(t, "the blocked stranger's connection to close", func() bool { return !connected(stranger.Host, home.ID()) })
	}
	if n := refused(home, mesh.DetailNoCertificate); n != 1 {
		t.Errorf("refused %d times, want once", n)
	}
}

// memberAndPeer runs member h1 of nbhd on an in-memory network and
// opens a bare host on the same network, not yet connected to it.
func memberAndPeer(t *testing.T) (*meshtest.Neighborhood, *mesh.Mesh, *meshtest.Attacker) {
	nb := meshtest.NewNeighborhood(t, nbhd)
	mn := meshtest.NewMemNetwork()
	home := nb.OpenMember(t, meshtest.Config(), "h1", mesh.WithTransport(mn.Transport()))
	meshtest.Run(t, home)
	return nb, home, meshtest.NewAttacker(t, mn.Transport())
}
