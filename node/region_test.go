package node_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

const regionBaseW = 800

// startRegion runs one home per neighborhood n0..n(k-1), each its own
// Raft leader, trusting operator, each dialing the homes started before.
func startRegion(t *testing.T, k int, operator ed25519.PublicKey) []*testHome {
	t.Helper()
	clock := testClock()
	var homes []*testHome
	var boot []string
	stopOnCleanup(t, &homes)
	for i := range k {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(key)
		dev := simHome(t, uint64(i+1), 0.4+0.2*float64(i), clock)
		cfg := fastConfig()
		cfg.Home = gridmesh.HomeID(fmt.Sprintf("h%d", i))
		cfg.Neighborhood = gridmesh.NeighborhoodID(fmt.Sprintf("n%d", i))
		cfg.Raft.Servers = []consensus.Server{{ID: id.String(), Voter: true}}
		cfg.Mesh.Bootstrap = append([]string(nil), boot...)
		cfg.Mesh.Region.OperatorKeys = []ed25519.PublicKey{operator}
		nd, err := node.New(cfg, node.Deps{Key: key, Battery: dev, Meter: dev})
		if err != nil {
			t.Fatal(err)
		}
		nd.SetTarget(gridmesh.Target{Seq: 1, ImportW: regionBaseW})
		homes = append(homes, runReady(t, nd, dev))
		boot = append(boot, nd.P2PAddrs()...)
	}
	return homes
}

// Three neighborhoods gossip their aggregates; an operator's host
// publishes a signed cut on the region topic; every leader computes the
// same split, the shares sum to the request within every neighborhood's
// capacity, and each leader dispatches its own: its plan's target is its
// base target less its share. Forged, expired and replayed signals are
// refused and counted.
func TestRegionalCutSplitAndDispatched(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	homes := startRegion(t, 3, pub)
	waitFor(t, "every home to see three aggregates", 30*time.Second, func() bool {
		for _, h := range homes {
			if r := h.n.Status().Region; r == nil || r.Aggregates != 3 {
				return false
			}
		}
		return true
	})

	// The operator: a short-lived host of its own (what gridmesh signal
	// runs), dialing one home.
	opCfg := meshtest.Config()
	opCfg.Bootstrap = homes[0].n.P2PAddrs()
	op, err := node.OpenOperator(t.Context(), opCfg, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	opCtx, stopOp := context.WithCancel(context.Background())
	opDone := make(chan error, 1)
	go func() { opDone <- op.Run(opCtx) }()
	t.Cleanup(func() {
		stopOp()
		if err := <-opDone; err != nil {
			t.Errorf("operator run: %v", err)
		}
		if err := op.Close(); err != nil {
			t.Errorf("operator close: %v", err)
		}
	})
	wctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := op.WaitForHomes(wctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const requestW = 3000
	cut, err := op.Publish(t.Context(), gridmesh.Signal{
		ID: "dr-1", Kind: gridmesh.SignalCutImport,
		StartMs: now.UnixMilli(), EndMs: now.Add(time.Minute).UnixMilli(), AmountW: requestW,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantSeq := 1 + node.RegionalSeq(cut.Seq, false)
	var shares string
	waitFor(t, "every leader to dispatch its share of one split", 30*time.Second, func() bool {
		var sum gridmesh.W
		shares = ""
		for i, h := range homes {
			s := h.n.Status()
			if s.Region == nil || len(s.Region.Signals) != 1 {
				return false
			}
			sig := s.Region.Signals[0]
			if got := fmt.Sprint(sig.Shares); i == 0 {
				shares = got
			} else if got != shares {
				return false // views still differ: an aggregate in flight
			}
			if sig.ShareW <= 0 || sig.ShareW > sig.CapacityW {
				t.Fatalf("%s: share %v of capacity %v", s.Neighborhood, sig.ShareW, sig.CapacityW)
			}
			if !s.HasPlan || s.PlanTarget.Seq != wantSeq || math.Abs(float64(s.PlanTarget.ImportW-(regionBaseW-sig.ShareW))) > 1e-9 {
				return false
			}
			sum += sig.ShareW
		}
		return math.Abs(float64(sum-requestW)) < 1e-6
	})
	t.Logf("split: %s", shares)

	// A bare router publishes a forged, an unsigned, an expired and a
	// replayed signal to the last home.
	att := meshtest.NewAttacker(t)
	victim := homes[2]
	dial(t, att.Host, victim.n.P2PAddrs())
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	forged := cut
	forged.ID = "dr-forged"
	if err := forged.Sign(stranger); err != nil {
		t.Fatal(err)
	}
	unsigned := cut
	unsigned.ID, unsigned.Signature = "dr-unsigned", nil
	expired := cut
	expired.ID, expired.StartMs, expired.EndMs = "dr-old", now.Add(-time.Hour).UnixMilli(), now.Add(-time.Minute).UnixMilli()
	if err := expired.Sign(priv); err != nil {
		t.Fatal(err)
	}
	for _, s := range []gridmesh.Signal{forged, unsigned, expired, cut} {
		b, err := mesh.EncodeRegionMessage(mesh.RegionMessage{Version: gridmesh.WireVersion, Signal: &s})
		if err != nil {
			t.Fatal(err)
		}
		att.Publish(t, mesh.RegionTopic("test"), victim.n.PeerID(), b)
	}
	waitFor(t, "the refusals counted", 20*time.Second, func() bool {
		r := victim.n.Status().Region.Rejections
		return r[mesh.ReasonSignalBadSignature] == 2 && r[mesh.ReasonSignalExpired] == 1 && r[mesh.ReasonSignalReplayed] == 1
	})
	if s := victim.n.Status(); len(s.Region.Signals) != 1 || s.Region.Signals[0].ID != "dr-1" {
		t.Fatalf("signals in force after the attack: %+v", s.Region.Signals)
	}
}

// dial connects h to the peer at addrs (multiaddrs ending in /p2p/ID).
func dial(t *testing.T, h host.Host, addrs []string) {
	t.Helper()
	var mas []ma.Multiaddr
	for _, a := range addrs {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			t.Fatal(err)
		}
		mas = append(mas, m)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil || len(infos) != 1 {
		t.Fatalf("addresses %v: %v", addrs, err)
	}
	if err := h.Connect(t.Context(), infos[0]); err != nil {
		t.Fatal(err)
	}
}
