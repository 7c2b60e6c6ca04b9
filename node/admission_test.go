package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

// A neighborhood of admitted homes elects a leader and follows its plans
// as one without admission does; a stranger that dials in is refused and
// counted in the home's status.
func TestAdmittedNeighborhood(t *testing.T) { inBubble(t, testAdmittedNeighborhood) }

func testAdmittedNeighborhood(t *testing.T) {
	mn := meshtest.NewMemNetwork()
	_, homes := startAdmittedNeighborhood(t, mn, 3, 3)

	stranger := meshtest.NewAttacker(t, mn.Transport())
	target := homes[0].n
	info, err := peer.AddrInfoFromString(target.P2PAddrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := stranger.Host.Connect(t.Context(), *info); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stranger to be refused", 20*time.Second, func() bool {
		return target.Status().Rejections[mesh.ReasonAdmissionRefused+"/"+mesh.DetailNoCertificate] == 1
	})
	for _, h := range homes {
		for reason, n := range h.n.Status().Rejections {
			if n > 0 && (reason == mesh.ReasonNonMember || strings.HasPrefix(reason, mesh.ReasonAdmissionRefused) && h.n != target) {
				t.Errorf("%s: %d %s among members", h.n.Home(), n, reason)
			}
		}
	}
}

func TestNewRejectsAnotherHomesCertificate(t *testing.T) {
	nb := meshtest.NewNeighborhood(t, "nb")
	c := fastConfig()
	c.Home, c.Neighborhood = "h", "nb"
	key := meshtest.NewKey(t)
	id, _ := peer.IDFromPrivateKey(key)
	for name, cert := range map[string]gridmesh.Membership{
		"another home's":         nb.Certificate(t, id, "h2"),
		"another neighborhood's": meshtest.NewNeighborhood(t, "nb2").Certificate(t, id, "h"),
	} {
		c.Mesh.Admission = mesh.DefaultAdmission(nb.Pub, cert)
		if err := c.Validate(); err == nil {
			t.Errorf("%s certificate accepted", name)
		}
	}
	c.Mesh.Admission = mesh.DefaultAdmission(nb.Pub, nb.Certificate(t, id, "h"))
	if err := c.Validate(); err != nil {
		t.Errorf("own certificate refused: %v", err)
	}
}

// startAdmittedNeighborhood starts n homes (voters of them voters) of
// neighborhood "nb", each admitted with a certificate of the
// neighborhood it returns, and waits until every home follows one plan
// toward a common target.
func startAdmittedNeighborhood(t *testing.T, mn *meshtest.MemNetwork, n, voters int) (*meshtest.Neighborhood, []*testHome) {
	t.Helper()
	nb := meshtest.NewNeighborhood(t, "nb")
	homes := startNeighborhood(t, mn, n, voters, func(i int, c *node.Config) {
		id, err := peer.Decode(c.Raft.Servers[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		c.Mesh.Admission = mesh.DefaultAdmission(nb.Pub, nb.Certificate(t, id, c.Home))
		c.Mesh.Admission.Timeout = meshtest.AdmissionTimeout
	})
	for _, h := range homes {
		h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 600})
	}
	waitFor(t, "one plan with the target on every home", 30*time.Second, func() bool {
		_, ok := samePlanEverywhere(homes, 1)
		return ok
	})
	return nb, homes
}
