package mesh_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

func operator(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func cutSignal(t *testing.T, priv ed25519.PrivateKey, id string, seq uint64, start, end time.Time) gridmesh.Signal {
	t.Helper()
	s := gridmesh.Signal{
		Version: gridmesh.WireVersion, ID: id, Kind: gridmesh.SignalCutImport, Region: "test",
		StartMs: start.UnixMilli(), EndMs: end.UnixMilli(), AmountW: 5000, Seq: seq,
	}
	if err := s.Sign(priv); err != nil {
		t.Fatal(err)
	}
	return s
}

func joinRegion(t *testing.T, m *mesh.Mesh) *mesh.Region {
	t.Helper()
	r, err := m.JoinRegion()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func encodeSignal(t *testing.T, s gridmesh.Signal) []byte {
	t.Helper()
	b, err := mesh.EncodeRegionMessage(mesh.RegionMessage{Version: gridmesh.WireVersion, Signal: &s})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A signed signal reaches another home; forged, expired, replayed and
// other regions' signals published by a bare router are refused and
// counted by reason, and never delivered.
func TestRegionSignalsValidated(t *testing.T) {
	pub, priv := operator(t)
	_, stranger := operator(t)
	cfg := meshtest.Config()
	cfg.Region.OperatorKeys = []ed25519.PublicKey{pub}
	a, b := meshtest.Open(t, cfg), meshtest.Open(t, cfg)
	ra, rb := joinRegion(t, a), joinRegion(t, b)
	meshtest.Connect(t, a.Host(), b.Host())
	waitPeers(t, "b in a's region", ra.Peers, b.ID())

	now := time.Now()
	good := cutSignal(t, priv, "dr-1", 1, now, now.Add(time.Minute))
	if err := ra.PublishSignal(timeout(t), good); err != nil {
		t.Fatal(err)
	}
	got, from, err := rb.Next(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Signal == nil || got.Signal.ID != "dr-1" || from != a.ID() {
		t.Fatalf("got %+v from %s", got, from)
	}
	// The publisher's own validator refuses a replay at once.
	if err := ra.PublishSignal(timeout(t), good); err == nil {
		t.Fatal("a replay was published")
	}

	att := meshtest.NewAttacker(t)
	meshtest.Connect(t, att.Host, b.Host())
	topic := mesh.RegionTopic("test")
	forged := cutSignal(t, stranger, "dr-2", 2, now, now.Add(time.Minute))
	expired := cutSignal(t, priv, "dr-3", 3, now.Add(-2*time.Minute), now.Add(-time.Minute))
	early := cutSignal(t, priv, "dr-4", 4, now.Add(72*time.Hour), now.Add(73*time.Hour))
	other := good
	other.Region, other.ID = "elsewhere", "dr-5"
	if err := other.Sign(priv); err != nil {
		t.Fatal(err)
	}
	for _, msg := range [][]byte{encodeSignal(t, forged), encodeSignal(t, expired), encodeSignal(t, early),
		encodeSignal(t, good), encodeSignal(t, other), []byte("junk")} {
		att.Publish(t, topic, b.ID(), msg)
	}
	want := map[string]uint64{
		mesh.ReasonSignalBadSignature: 1, mesh.ReasonSignalExpired: 1, mesh.ReasonSignalTooEarly: 1,
		mesh.ReasonSignalReplayed: 1, mesh.ReasonSignalWrongRegion: 1, mesh.ReasonRegionUndecodable: 1,
	}
	meshtest.Eventually(t, "every refusal counted", func() bool {
		got := rb.Rejections()
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	})
	// A newer step of the same ID passes: replays are judged per ID.
	next := cutSignal(t, priv, "dr-1", 7, now, now.Add(time.Minute))
	att.Publish(t, topic, b.ID(), encodeSignal(t, next))
	got, _, err = rb.Next(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Signal == nil || got.Signal.Seq != 7 {
		t.Fatalf("after the refusals b received %+v, want dr-1 seq 7", got)
	}
}

func joinAggregates(t *testing.T, r *mesh.Region) *mesh.Aggregates {
	t.Helper()
	a, err := r.JoinAggregates()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// With admission on, an aggregate is accepted only from a peer holding a
// certificate of the neighborhood it claims, checked against that
// neighborhood's key; and at most one per author per interval.
func TestRegionAggregatesFromMembersOnly(t *testing.T) {
	n1, n2 := meshtest.NewNeighborhood(t, "n1"), meshtest.NewNeighborhood(t, "n2")
	cfg := meshtest.Config()
	cfg.Region.NeighborhoodKeys = map[gridmesh.NeighborhoodID]ed25519.PublicKey{"n1": n1.Pub, "n2": n2.Pub}
	cfg.Region.AggregateMinInterval = time.Hour
	a := n1.OpenMember(t, cfg, "a")
	b := n2.OpenMember(t, cfg, "b")
	meshtest.Run(t, a)
	meshtest.Run(t, b)
	ra, rb := joinRegion(t, a), joinRegion(t, b)
	aa, ab := joinAggregates(t, ra), joinAggregates(t, rb)
	meshtest.Connect(t, a.Host(), b.Host())
	waitPeers(t, "b among a's aggregate peers", aa.Peers, b.ID())

	agg := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 2, Index: 5},
		AtMs: time.Now().UnixMilli(), ForS: 15, UpW: 3000, DownW: 4000, UpWh: 5000, DownWh: 6000,
	}
	if err := aa.Publish(timeout(t), agg); err != nil {
		t.Fatal(err)
	}
	got, from, err := ab.Next(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Aggregate == nil || got.Aggregate.UpW != 3000 || from != a.ID() {
		t.Fatalf("got %+v from %s", got, from)
	}
	// The same author again within the interval: ignored here, refused
	// by its own validator first.
	agg.AtMs++
	if err := aa.Publish(timeout(t), agg); err == nil {
		t.Fatal("a second aggregate within the interval was published")
	}
	// a claims n2, whose certificate it does not hold.
	lie := agg
	lie.Neighborhood = "n2"
	// The attacker is a member of n1 gone bad: b lets it on the region's
	// topics, whose validators must still judge each aggregate.
	att := meshtest.NewAttacker(t)
	meshtest.Connect(t, att.Host, b.Host())
	att.Present(t, b.ID(), "n1", n1.Certificate(t, att.Host.ID(), "att"))
	cert := n1.Certificate(t, a.ID(), "a")
	for _, msg := range []mesh.RegionMessage{
		{Version: gridmesh.WireVersion, Aggregate: &agg},                    // no certificate
		{Version: gridmesh.WireVersion, Aggregate: &lie, Membership: &cert}, // wrong neighborhood
		{Version: gridmesh.WireVersion, Aggregate: &agg, Membership: &cert}, // a's certificate, the attacker's message
	} {
		raw, err := mesh.EncodeRegionMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		att.Publish(t, mesh.AggregatesTopic("test"), b.ID(), raw)
	}
	meshtest.Eventually(t, "three non-members counted", func() bool {
		return rb.Rejections()[mesh.ReasonAggregateNonMember] == 3
	})
}

// Aggregates travel on their own topic, signals on the region topic:
// the wrong kind on either is refused and counted, and a home that has
// not joined the aggregates topic (it does not lead) receives none.
func TestRegionTopicsCarryTheirKindOnly(t *testing.T) {
	pub, priv := operator(t)
	cfg := meshtest.Config()
	cfg.Region.OperatorKeys = []ed25519.PublicKey{pub}
	leader, home := meshtest.Open(t, cfg), meshtest.Open(t, cfg)
	rl, rh := joinRegion(t, leader), joinRegion(t, home)
	al := joinAggregates(t, rl)
	meshtest.Connect(t, leader.Host(), home.Host())
	waitPeers(t, "the home in the leader's region", rl.Peers, home.ID())

	now := time.Now()
	agg := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 1, Index: 1},
		AtMs: now.UnixMilli(), ForS: 15, UpW: 3000, DownW: 4000, UpWh: 5000, DownWh: 6000,
	}
	rawAgg, err := mesh.EncodeRegionMessage(mesh.RegionMessage{Version: gridmesh.WireVersion, Aggregate: &agg})
	if err != nil {
		t.Fatal(err)
	}
	att := meshtest.NewAttacker(t)
	meshtest.Connect(t, att.Host, leader.Host())
	meshtest.Connect(t, att.Host, home.Host())
	att.Publish(t, mesh.RegionTopic("test"), home.ID(), rawAgg)
	att.Publish(t, mesh.AggregatesTopic("test"), leader.ID(), encodeSignal(t, cutSignal(t, priv, "dr-1", 1, now, now.Add(time.Minute))))
	meshtest.Eventually(t, "each wrong kind counted", func() bool {
		return rh.Rejections()[mesh.ReasonAggregateWrongTopic] == 1 && rl.Rejections()[mesh.ReasonSignalWrongTopic] == 1
	})
	// The leader's own aggregate reaches its own subscription, not the
	// home; the signal after it reaches the home first.
	if err := al.Publish(timeout(t), agg); err != nil {
		t.Fatal(err)
	}
	if got, _, err := al.Next(timeout(t)); err != nil || got.Aggregate == nil {
		t.Fatalf("leader's aggregate: %+v, %v", got, err)
	}
	if err := rl.PublishSignal(timeout(t), cutSignal(t, priv, "dr-2", 2, now, now.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	got, _, err := rh.Next(timeout(t))
	if err != nil || got.Signal == nil || got.Signal.ID != "dr-2" {
		t.Fatalf("the home received %+v, %v; want the signal dr-2 and no aggregate", got, err)
	}
	if tr := home.Traffic()[mesh.TopicAggregates]; tr.Received != 0 {
		t.Fatalf("the home received %d aggregate messages", tr.Received)
	}
}

// A leader that steps down leaves the aggregates topic and may join it
// again; the peers it gossiped with see it go and come back.
func TestAggregatesLeaveAndRejoin(t *testing.T) {
	cfg := meshtest.Config()
	a, b := meshtest.Open(t, cfg), meshtest.Open(t, cfg)
	ra, rb := joinRegion(t, a), joinRegion(t, b)
	ab := joinAggregates(t, rb)
	aa := joinAggregates(t, ra)
	meshtest.Connect(t, a.Host(), b.Host())
	waitPeers(t, "a among b's aggregate peers", ab.Peers, a.ID())
	if err := aa.Close(); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "a gone from b's aggregate peers", func() bool { return len(ab.Peers()) == 0 })
	again := joinAggregates(t, ra)
	waitPeers(t, "a back among b's aggregate peers", ab.Peers, a.ID())
	agg := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 1, Index: 1},
		AtMs: time.Now().UnixMilli(), ForS: 15, UpW: 1, DownW: 1, UpWh: 1, DownWh: 1,
	}
	if err := again.Publish(timeout(t), agg); err != nil {
		t.Fatal(err)
	}
	if got, from, err := ab.Next(timeout(t)); err != nil || got.Aggregate == nil || from != a.ID() {
		t.Fatalf("b received %+v from %s, %v", got, from, err)
	}
}

// A leader finds another through a home connected to both: the home
// names its neighborhood's leader (LeadersProtocol), the first leader
// dials it, and their aggregates topic joins up.
func TestFindLeadersThroughAHome(t *testing.T) {
	cfg := meshtest.Config()
	l1, h, l2 := meshtest.Open(t, cfg), meshtest.Open(t, cfg), meshtest.Open(t, cfg)
	h.ServeLeaders(func() []peer.ID { return []peer.ID{l2.ID()} })
	r1, r2 := joinRegion(t, l1), joinRegion(t, l2)
	joinRegion(t, h)
	a1, a2 := joinAggregates(t, r1), joinAggregates(t, r2)
	meshtest.Connect(t, l1.Host(), h.Host())
	meshtest.Connect(t, h.Host(), l2.Host())
	if n := a1.FindLeaders(timeout(t), 4, 4); n != 1 {
		t.Fatalf("connected to %d leaders, want l2", n)
	}
	waitPeers(t, "l2 among l1's aggregate peers", a1.Peers, l2.ID())
	waitPeers(t, "l1 among l2's aggregate peers", a2.Peers, l1.ID())
}

func TestRegionMessageCodec(t *testing.T) {
	_, priv := operator(t)
	now := time.Now()
	s := cutSignal(t, priv, "dr-1", 1, now, now.Add(time.Minute))
	b := encodeSignal(t, s)
	got, err := mesh.DecodeRegionMessage(b)
	if err != nil || got.Signal == nil || got.Signal.ID != s.ID || string(got.Signal.Signature) != string(s.Signature) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	agg := gridmesh.Aggregate{Version: gridmesh.WireVersion, Neighborhood: "n", Epoch: gridmesh.Epoch{Term: 1}, AtMs: 1, ForS: 1}
	for name, m := range map[string]mesh.RegionMessage{
		"empty":         {Version: gridmesh.WireVersion},
		"both":          {Version: gridmesh.WireVersion, Signal: &s, Aggregate: &agg},
		"wrong version": {Version: 9, Signal: &s},
		"cert on signal": {Version: gridmesh.WireVersion, Signal: &s,
			Membership: &gridmesh.Membership{Version: gridmesh.WireVersion}},
	} {
		if _, err := mesh.EncodeRegionMessage(m); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := mesh.DecodeRegionMessage(make([]byte, mesh.MaxRegionMessageBytes+1)); !errors.Is(err, mesh.ErrUndecodable) {
		t.Errorf("oversized: %v", err)
	}
}
