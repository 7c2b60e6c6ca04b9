package mesh_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

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
	meshtest.Connect(t, a.Host(), b.Host())
	waitPeers(t, "b in a's region", ra.Peers, b.ID())

	agg := gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 2, Index: 5},
		AtMs: time.Now().UnixMilli(), ForS: 15, UpW: 3000, DownW: 4000, UpWh: 5000, DownWh: 6000,
	}
	if err := ra.PublishAggregate(timeout(t), agg); err != nil {
		t.Fatal(err)
	}
	got, from, err := rb.Next(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Aggregate == nil || got.Aggregate.UpW != 3000 || from != a.ID() {
		t.Fatalf("got %+v from %s", got, from)
	}
	// The same author again within the interval: ignored here, refused
	// by its own validator first.
	agg.AtMs++
	if err := ra.PublishAggregate(timeout(t), agg); err == nil {
		t.Fatal("a second aggregate within the interval was published")
	}
	// a claims n2, whose certificate it does not hold.
	lie := agg
	lie.Neighborhood = "n2"
	// The attacker is a member of n1 gone bad: b lets it on the region
	// topic, whose validator must still judge each aggregate.
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
		att.Publish(t, mesh.RegionTopic("test"), b.ID(), raw)
	}
	meshtest.Eventually(t, "three non-members counted", func() bool {
		return rb.Rejections()[mesh.ReasonAggregateNonMember] == 3
	})
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
