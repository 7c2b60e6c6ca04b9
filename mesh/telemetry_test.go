package mesh_test

import (
	"context"
	"encoding/binary"
	"reflect"
	"testing"
	"testing/synctest"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

// telemetryCity is three admitted members of one neighborhood on an
// in-memory network, all connected to the first: leader (subscribed to
// the topic, as a voter), home (not subscribed) and follower (an
// archiver's place), and a member of another neighborhood connected to
// the leader.
type telemetryCity struct {
	leader, home, follower, other     *mesh.Mesh
	leaderN, homeN, followerN, otherN *mesh.Neighborhood
}

func newTelemetryCity(t *testing.T) telemetryCity {
	t.Helper()
	nb := meshtest.NewNeighborhood(t, nbhd)
	inMemory := mesh.WithTransport(meshtest.NewMemNetwork().Transport())
	var c telemetryCity
	c.leader = nb.OpenMember(t, meshtest.Config(), "h1", inMemory)
	c.home = nb.OpenMember(t, meshtest.Config(), "h2", inMemory)
	c.follower = nb.OpenMember(t, meshtest.Config(), "h3", inMemory)
	c.other = meshtest.NewNeighborhood(t, "feeder-2").OpenMember(t, meshtest.Config(), "h4", inMemory)
	leaders := meshtest.NewLeaders("", 0)
	for _, m := range []*mesh.Mesh{c.leader, c.home, c.follower, c.other} {
		meshtest.Run(t, m)
	}
	c.leaderN = join(t, c.leader, nbhd, leaders, true)
	c.homeN = join(t, c.home, nbhd, leaders, false)
	c.followerN = join(t, c.follower, nbhd, leaders, false)
	c.otherN = join(t, c.other, "feeder-2", leaders, false)
	for _, m := range []*mesh.Mesh{c.home, c.follower, c.other} {
		meshtest.Connect(t, m.Host(), c.leader.Host())
	}
	meshtest.Eventually(t, "the members to admit each other", func() bool {
		return c.leader.Admitted(c.home.ID()) && c.home.Admitted(c.leader.ID()) &&
			c.leader.Admitted(c.follower.ID()) && c.follower.Admitted(c.leader.ID())
	})
	return c
}

// A home's reports reach its leader on a stream, authored by the home,
// and only the leader: a follower of the leader's feed gets them with
// their author; the topic carries none of them.
func TestTelemetryToLeader(t *testing.T) { synctest.Test(t, testTelemetryToLeader) }

func testTelemetryToLeader(t *testing.T) {
	c := newTelemetryCity(t)
	ctx := timeout(t)

	want := telemetry("h2", nbhd, 1)
	if err := c.homeN.SendTelemetry(ctx, c.leader.ID(), want); err != nil {
		t.Fatal(err)
	}
	got, from, err := c.leaderN.NextTelemetry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if from != c.home.ID() || !reflect.DeepEqual(got, want) {
		t.Fatalf("leader got %+v from %s, want %+v from %s", got, from, want, c.home.ID())
	}

	// A follower of the feed gets what the leader receives from now on.
	type fed struct {
		t    gridmesh.Telemetry
		from peer.ID
	}
	feed := make(chan fed, 8)
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan error, 1)
	go func() {
		followed <- c.followerN.FollowFeed(fctx, c.leader.ID(), func(t gridmesh.Telemetry, from peer.ID) error {
			feed <- fed{t, from}
			return nil
		})
	}()
	// First the leader's newest reports (here the one so far), then
	// what comes.
	next := telemetry("h2", nbhd, 2)
	next.AtMs += 1000
	for _, want := range []gridmesh.Telemetry{want, next} {
		if want.Seq == 2 {
			if err := c.homeN.SendTelemetry(ctx, c.leader.ID(), next); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case f := <-feed:
			if f.from != c.home.ID() || !reflect.DeepEqual(f.t, want) {
				t.Fatalf("feed: %+v from %s, want %+v from %s", f.t, f.from, want, c.home.ID())
			}
		case <-ctx.Done():
			t.Fatalf("feed: report %d never came", want.Seq)
		}
	}
	stop()
	if err := <-followed; err == nil {
		t.Error("FollowFeed returned nil after its context ended")
	}
	if d := c.leaderN.DirectTraffic(); d.Received < 2 || d.Fed < 1 {
		t.Errorf("leader's counts: %+v", d)
	}
	// The topic carried nothing: the home is no subscriber, and the
	// follower is none either.
	if tr := c.leader.TrafficOf("telemetry"); tr.Received != 0 {
		t.Errorf("the topic carried %d reports", tr.Received)
	}
	wrong := telemetry("h2", "elsewhere", 3)
	if err := c.homeN.SendTelemetry(ctx, c.leader.ID(), wrong); err == nil {
		t.Error("sending another neighborhood's report: no error")
	}
}

// The stream follows the leader: reports go to whichever peer the home
// names, a new stream opened when it changes.
func TestTelemetryFollowsTheLeader(t *testing.T) { synctest.Test(t, testTelemetryFollowsTheLeader) }

func testTelemetryFollowsTheLeader(t *testing.T) {
	c := newTelemetryCity(t)
	meshtest.Connect(t, c.home.Host(), c.follower.Host())
	meshtest.Eventually(t, "home and follower to admit each other", func() bool {
		return c.follower.Admitted(c.home.ID()) && c.home.Admitted(c.follower.ID())
	})
	ctx := timeout(t)
	first := telemetry("h2", nbhd, 1)
	if err := c.homeN.SendTelemetry(ctx, c.leader.ID(), first); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.leaderN.NextTelemetry(ctx); err != nil || got.Seq != 1 {
		t.Fatalf("old leader: %+v, %v", got, err)
	}
	second := telemetry("h2", nbhd, 2)
	second.AtMs += 1000
	if err := c.homeN.SendTelemetry(ctx, c.follower.ID(), second); err != nil {
		t.Fatal(err)
	}
	if got, from, err := c.followerN.NextTelemetry(ctx); err != nil || got.Seq != 2 || from != c.home.ID() {
		t.Fatalf("new leader: %+v from %s, %v", got, from, err)
	}
	// The old leader's stream is closed, not left open.
	meshtest.Eventually(t, "the stream to the old leader to close", func() bool {
		for _, conn := range c.home.Host().Network().ConnsToPeer(c.leader.ID()) {
			for _, s := range conn.GetStreams() {
				if s.Protocol() == mesh.TelemetryProtocolID(nbhd) {
					return false
				}
			}
		}
		return true
	})
	// A leader that is gone: the send fails, and the caller publishes.
	if err := c.home.Host().Network().ClosePeer(c.leader.ID()); err != nil {
		t.Fatal(err)
	}
	if err := c.leader.Close(); err != nil {
		t.Fatal(err)
	}
	third := telemetry("h2", nbhd, 3)
	third.AtMs += 2000
	if err := c.homeN.SendTelemetry(ctx, c.leader.ID(), third); err == nil {
		t.Error("sending to a closed leader: no error")
	}
}

// A stranger's stream is refused and counted; so are frames out of
// bounds and reports that do not decode, and none is delivered.
func TestTelemetryStreamRefusals(t *testing.T) { synctest.Test(t, testTelemetryStreamRefusals) }

func testTelemetryStreamRefusals(t *testing.T) {
	c := newTelemetryCity(t)
	ctx := timeout(t)
	good, err := mesh.EncodeTelemetry(telemetry("h2", nbhd, 1))
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := mesh.EncodeTelemetry(telemetry("h2", "elsewhere", 1))
	if err != nil {
		t.Fatal(err)
	}
	frame := func(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }
	for _, tc := range []struct {
		name   string
		from   *mesh.Mesh
		data   []byte
		reason string
	}{
		{"a stranger's report", c.other, frame(good), mesh.ReasonNonMember},
		{"a frame longer than a message", c.home, binary.AppendUvarint(nil, mesh.MaxMessageBytes+1), mesh.ReasonUndecodable},
		{"an empty frame", c.home, []byte{0}, mesh.ReasonUndecodable},
		{"a frame that is not a report", c.home, frame([]byte("\xff\xfe not cbor")), mesh.ReasonUndecodable},
		{"another neighborhood's report", c.home, frame(elsewhere), mesh.ReasonWrongNeighborhood},
	} {
		before := c.leader.Rejections()[tc.reason]
		s, err := tc.from.Host().NewStream(ctx, c.leader.ID(), mesh.TelemetryProtocolID(nbhd))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, err := s.Write(tc.data); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_ = s.CloseWrite()
		meshtest.Eventually(t, tc.name+" to be refused as "+tc.reason, func() bool {
			return c.leader.Rejections()[tc.reason] > before
		})
		_ = s.Reset()
	}
	if d := c.leaderN.DirectTraffic(); d.Received != 0 {
		t.Errorf("%d refused reports delivered", d.Received)
	}
	short, cancel := context.WithTimeout(ctx, meshtest.Timeout/10)
	defer cancel()
	if got, from, err := c.leaderN.NextTelemetry(short); err == nil {
		t.Errorf("delivered %+v from %s", got, from)
	}
	// A stranger cannot follow the feed either.
	before := c.leader.Rejections()[mesh.ReasonNonMember]
	s, err := c.other.Host().NewStream(ctx, c.leader.ID(), mesh.TelemetryFeedProtocolID(nbhd))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	_, _ = s.Write([]byte{0}) // the protocol is negotiated with the first write
	meshtest.Eventually(t, "a stranger's feed to be refused", func() bool {
		return c.leader.Rejections()[mesh.ReasonNonMember] > before
	})
}

// FuzzDecodeFeedFrame: a feed frame never panics the decoder, and one
// that decodes encodes back to the same peer and report.
func FuzzDecodeFeedFrame(f *testing.F) {
	good, err := mesh.EncodeTelemetry(telemetry("h2", nbhd, 1))
	if err != nil {
		f.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(meshtest.NewKey(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mesh.AppendFeedFrameBody(nil, id, good))
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(append([]byte{3, 1, 2, 3}, good...))
	f.Fuzz(func(t *testing.T, b []byte) {
		tel, from, err := mesh.DecodeFeedFrame(b)
		if err != nil {
			return
		}
		raw, err := mesh.EncodeTelemetry(tel)
		if err != nil {
			t.Fatalf("decoded report does not encode: %v", err)
		}
		again, from2, err := mesh.DecodeFeedFrame(mesh.AppendFeedFrameBody(nil, from, raw))
		if err != nil || from2 != from || !reflect.DeepEqual(again, tel) {
			t.Fatalf("round trip: %+v from %s, %v; want %+v from %s", again, from2, err, tel, from)
		}
	})
}
