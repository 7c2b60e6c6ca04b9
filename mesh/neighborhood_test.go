package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
)

const nbhd gridmesh.NeighborhoodID = "feeder-1"

func telemetry(home gridmesh.HomeID, n gridmesh.NeighborhoodID, seq uint64) gridmesh.Telemetry {
	return gridmesh.Telemetry{
		Version: gridmesh.WireVersion, Home: home, Neighborhood: n, Seq: seq,
		AtMs: 1_764_000_000_000, NetW: 1500, BaseW: 1500,
		Battery: gridmesh.Flexibility{MinW: -3000, MaxW: 3000, SoC: 0.5, CapacityWh: 10_000, ChargeWh: 5000, DischargeWh: 5000},
		Addrs:   []string{"/ip4/127.0.0.1/tcp/4001"},
	}
}

func plan(n gridmesh.NeighborhoodID, term, index uint64) gridmesh.Plan {
	return gridmesh.Plan{
		Version: gridmesh.WireVersion, Neighborhood: n,
		Epoch:      gridmesh.Epoch{Term: term, Index: index},
		IssuedAtMs: 1_764_000_000_000, LeaseMs: 5000,
		Target:    gridmesh.Target{Seq: 1, ImportW: -4000},
		Setpoints: []gridmesh.Setpoint{{Home: "h1", NetW: -2000}, {Home: "h2", NetW: -2000}},
	}
}

func join(t *testing.T, m *mesh.Mesh, id gridmesh.NeighborhoodID, leaders mesh.LeaderView, subscribeTelemetry bool) *mesh.Neighborhood {
	t.Helper()
	n, err := m.JoinNeighborhood(id, leaders, subscribeTelemetry)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitPeers waits until peers() lists every one of want.
func waitPeers(t *testing.T, what string, peers func() []peer.ID, want ...peer.ID) {
	t.Helper()
	meshtest.Eventually(t, what, func() bool {
		got := peers()
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
		return true
	})
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), meshtest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// Publishing on a topic joined without subscribing goes out through
// gossipsub's fanout (here flood publish) to the subscribers the publisher
// knows. In memory, in a synctest bubble: the waits that must run out
// take no real time.
func TestTelemetryFromNonSubscriber(t *testing.T) { synctest.Test(t, testTelemetryFromNonSubscriber) }

func testTelemetryFromNonSubscriber(t *testing.T) {
	_, home, vn, hn := voterAndHome(t)

	want := telemetry("h1", nbhd, 1)
	if err := hn.PublishTelemetry(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	got, author, err := vn.NextTelemetry(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if author != home.ID() || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v from %s, want %+v from %s", got, author, want, home.ID())
	}
	if slices.Contains(vn.TelemetryPeers(), home.ID()) {
		t.Error("the voter sees the home as a telemetry subscriber")
	}
	// A home not subscribed waits for a subscription.
	short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := hn.NextTelemetry(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("NextTelemetry on a non-subscriber: %v, want to wait until the context ends", err)
	}
	// Subscribed, it receives reports (its own included); unsubscribed
	// under a waiting NextTelemetry, that call waits on instead of failing.
	if err := hn.SubscribeTelemetry(true); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, "the voter to learn the home subscribes", vn.TelemetryPeers, home.ID())
	mine := telemetry("h1", nbhd, 3)
	if err := hn.PublishTelemetry(t.Context(), mine); err != nil {
		t.Fatal(err)
	}
	if got, _, err := hn.NextTelemetry(timeout(t)); err != nil || got.Seq != 3 {
		t.Fatalf("subscribed home: %+v, %v", got, err)
	}
	done := make(chan error, 1)
	short2, cancel2 := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel2()
	go func() { _, _, err := hn.NextTelemetry(short2); done <- err }()
	synctest.Wait() // NextTelemetry is waiting

	if err := hn.SubscribeTelemetry(false); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("NextTelemetry across an unsubscribe: %v, want to wait until the context ends", err)
	}
	wrong := telemetry("h1", "elsewhere", 2)
	if err := hn.PublishTelemetry(t.Context(), wrong); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("publishing another neighborhood's telemetry: %v", err)
	}
}

// A plan from the leader reaches every home, the leader included, across
// more than one hop.
func TestPlanReachesEveryHome(t *testing.T) {
	const homes = 5
	leader := meshtest.Open(t, meshtest.Config())
	leaders := meshtest.NewLeaders(leader.ID(), 3)
	all := []*mesh.Mesh{leader}
	for range homes {
		all = append(all, meshtest.Open(t, meshtest.Config()))
	}
	ns := make([]*mesh.Neighborhood, len(all))
	for i, m := range all {
		ns[i] = join(t, m, nbhd, leaders, false)
	}
	// leader - 1 - 2 - 3, leader - 4 - 5: homes 2, 3 and 5 hear the
	// leader only through other homes.
	links := [][2]int{{0, 1}, {1, 2}, {2, 3}, {0, 4}, {4, 5}}
	for _, l := range links {
		meshtest.Connect(t, all[l[0]].Host(), all[l[1]].Host())
	}
	for _, l := range links {
		waitPeers(t, "plan subscriptions to spread", ns[l[0]].PlanPeers, all[l[1]].ID())
		waitPeers(t, "plan subscriptions to spread", ns[l[1]].PlanPeers, all[l[0]].ID())
	}

	want := plan(nbhd, 3, 10)
	ctx := timeout(t)
	var wg sync.WaitGroup
	errs := make([]error, len(ns))
	for i, n := range ns {
		wg.Go(func() {
			got, author, err := n.NextPlan(ctx)
			switch {
			case err != nil:
				errs[i] = err
			case author != leader.ID() || !reflect.DeepEqual(got, want):
				errs[i] = fmt.Errorf("got %+v from %s", got, author)
			}
		})
	}
	// The leader publishes once a period, as dispatch does: the first
	// copy may outrun the gossip mesh still forming (a fresh mesh grafts
	// on its next heartbeat).
	pubCtx, stopPublishing := context.WithCancel(ctx)
	published := make(chan struct{})
	go func() {
		defer close(published)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if err := ns[0].PublishPlan(pubCtx, want); err != nil && pubCtx.Err() == nil {
				t.Errorf("publish: %v", err)
			}
			select {
			case <-pubCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	wg.Wait()
	stopPublishing()
	<-published
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	for _, m := range all {
		if r := m.Rejections(); r[mesh.ReasonNotLeader]+r[mesh.ReasonStaleTerm] != 0 {
			t.Errorf("%s refused plans: %v", m.ID(), r)
		}
	}
}

// Plans are fenced at validation: only the leader of the current term
// gets through, whatever the publisher itself believes.
func TestPlanFencing(t *testing.T) {
	leader := meshtest.Open(t, meshtest.Config())
	home := meshtest.Open(t, meshtest.Config())
	rogue := meshtest.Open(t, meshtest.Config())
	view := meshtest.NewLeaders(leader.ID(), 3)
	// The rogue believes it leads: a deposed or split-brained leader.
	rogueView := meshtest.NewLeaders(rogue.ID(), 3)
	ln := join(t, leader, nbhd, view, false)
	hn := join(t, home, nbhd, view, false)
	rn := join(t, rogue, nbhd, rogueView, false)
	meshtest.Connect(t, leader.Host(), home.Host())
	meshtest.Connect(t, rogue.Host(), home.Host())
	waitPeers(t, "the home's plan subscription to reach the rogue", rn.PlanPeers, home.ID())
	waitPeers(t, "the home's plan subscription to reach the leader", ln.PlanPeers, home.ID())

	for _, step := range []struct {
		rogueTerm uint64
		reason    string
	}{
		{3, mesh.ReasonNotLeader},   // right term, wrong signer
		{2, mesh.ReasonStaleTerm},   // a term the home has moved past
		{5, mesh.ReasonUnknownTerm}, // a term the home has not seen: ignored
	} {
		before := home.Rejections()[step.reason]
		rogueView.Set(rogue.ID(), step.rogueTerm)
		if err := rn.PublishPlan(t.Context(), plan(nbhd, step.rogueTerm, 1)); err != nil {
			t.Fatalf("rogue publish in term %d: %v", step.rogueTerm, err)
		}
		meshtest.Eventually(t, "the home to refuse the rogue's plan as "+step.reason, func() bool {
			return home.Rejections()[step.reason] > before
		})
	}

	// This home's own view refuses before anything is sent.
	var refused *mesh.RefusedError
	if err := hn.PublishPlan(t.Context(), plan(nbhd, 3, 2)); !errors.As(err, &refused) || refused.Reason != mesh.ReasonNotLeader {
		t.Errorf("a home publishing a plan: %v", err)
	}
	if err := ln.PublishPlan(t.Context(), plan(nbhd, 2, 2)); !errors.As(err, &refused) || refused.Reason != mesh.ReasonStaleTerm {
		t.Errorf("the leader publishing an old term's plan: %v", err)
	}

	// None of the rogue's plans was delivered: the first the home gets is
	// the leader's.
	want := plan(nbhd, 3, 9)
	if err := ln.PublishPlan(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	got, author, err := hn.NextPlan(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if author != leader.ID() || got.Epoch != want.Epoch {
		t.Fatalf("home got plan %s from %s, want %s from the leader %s", got.Epoch, author, want.Epoch, leader.ID())
	}

	// A new term with no leader yet: the old leader's plans are stale.
	view.Set("", 4)
	before := home.Rejections()[mesh.ReasonStaleTerm]
	if err := ln.PublishPlan(t.Context(), plan(nbhd, 3, 10)); err == nil {
		t.Fatal("the leader published after its view moved to a new term")
	}
	if home.Rejections()[mesh.ReasonStaleTerm] != before {
		t.Fatal("a refused local publish reached the home")
	}
}

// A peer without gridmesh's validators publishes garbage and lies; the
// home refuses each, counts it by reason, and keeps working.
func TestAttackerRefused(t *testing.T) {
	home := meshtest.Open(t, meshtest.Config())
	n := join(t, home, nbhd, meshtest.NewLeaders(home.ID(), 1), true)
	attacker := meshtest.NewAttacker(t)
	meshtest.Connect(t, attacker.Host, home.Host())
	telemetryTopic := mesh.TopicName(meshtest.Config().Network, nbhd, "telemetry")
	planTopic := mesh.TopicName(meshtest.Config().Network, nbhd, "plan")

	encode := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	elsewhereT, err := mesh.EncodeTelemetry(telemetry("h1", "elsewhere", 1))
	if err != nil {
		t.Fatal(err)
	}
	elsewhereP, err := mesh.EncodePlan(plan("elsewhere", 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	badVersion := telemetry("h1", nbhd, 1)
	badVersion.Version = 7
	for _, tc := range []struct {
		name, topic, reason string
		data                []byte
	}{
		{"garbage plan", planTopic, mesh.ReasonUndecodable, []byte("\xff\xfe not cbor")},
		{"garbage telemetry", telemetryTopic, mesh.ReasonUndecodable, []byte{0x1f}},
		{"empty", telemetryTopic, mesh.ReasonUndecodable, nil},
		{"oversized", telemetryTopic, mesh.ReasonUndecodable, make([]byte, mesh.MaxMessageBytes+1)},
		{"unknown fields", telemetryTopic, mesh.ReasonUndecodable, encode(map[int]int{1: 1, 99: 2})},
		{"telemetry as plan", planTopic, mesh.ReasonUndecodable, encode(telemetry("h1", nbhd, 1))},
		{"wrong version", telemetryTopic, mesh.ReasonInvalid, encode(badVersion)},
		{"other neighborhood's telemetry", telemetryTopic, mesh.ReasonWrongNeighborhood, elsewhereT},
		{"other neighborhood's plan", planTopic, mesh.ReasonWrongNeighborhood, elsewhereP},
	} {
		before := home.Rejections()[tc.reason]
		attacker.Publish(t, tc.topic, home.ID(), tc.data)
		meshtest.Eventually(t, tc.name+" to be refused as "+tc.reason, func() bool {
			return home.Rejections()[tc.reason] > before
		})
	}

	// Nothing bad was delivered, and the home still takes good messages
	// (with admission off, as here, any peer may publish).
	good, err := mesh.EncodeTelemetry(telemetry("h9", nbhd, 1))
	if err != nil {
		t.Fatal(err)
	}
	attacker.Publish(t, telemetryTopic, home.ID(), good)
	got, author, err := n.NextTelemetry(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if author != attacker.Host.ID() || got.Home != "h9" {
		t.Fatalf("got %+v from %s", got, author)
	}
}

func TestNeighborhoodLifecycle(t *testing.T) {
	m := meshtest.Open(t, meshtest.Config())
	leaders := meshtest.NewLeaders(m.ID(), 1)
	n := join(t, m, nbhd, leaders, true)
	if _, err := m.JoinNeighborhood(nbhd, leaders, false); err == nil {
		t.Fatal("joined the same neighborhood twice")
	}
	if _, err := m.JoinNeighborhood("bad/id", leaders, false); !errors.Is(err, gridmesh.ErrBadID) {
		t.Fatalf("joined a malformed neighborhood: %v", err)
	}

	// Own messages come back to their publisher.
	if err := n.PublishTelemetry(t.Context(), telemetry("h1", nbhd, 1)); err != nil {
		t.Fatal(err)
	}
	if _, author, err := n.NextTelemetry(timeout(t)); err != nil || author != m.ID() {
		t.Fatalf("own telemetry: from %s, %v", author, err)
	}

	blocked := make(chan error, 1)
	go func() {
		_, _, err := n.NextPlan(t.Context())
		blocked <- err
	}()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case err := <-blocked:
		if !errors.Is(err, mesh.ErrClosed) {
			t.Fatalf("NextPlan blocked across Close returned %v", err)
		}
	case <-time.After(meshtest.Timeout):
		t.Fatal("NextPlan still blocked after Close")
	}

	// Closing removed the validators: the neighborhood can be joined again.
	n2 := join(t, m, nbhd, leaders, false)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n2.NextPlan(t.Context()); !errors.Is(err, mesh.ErrClosed) {
		t.Fatalf("NextPlan after the mesh closed: %v", err)
	}
	if _, err := m.JoinNeighborhood("other", leaders, false); !errors.Is(err, mesh.ErrClosed) {
		t.Fatalf("join after Close: %v", err)
	}
}

// voterAndHome joins two hosts of nbhd on an in-memory network: a voter
// that listens to telemetry and a home that does not, connected, the
// home knowing the voter subscribes.
func voterAndHome(t *testing.T) (voter, home *mesh.Mesh, vn, hn *mesh.Neighborhood) {
	t.Helper()
	leaders := meshtest.NewLeaders("", 0)
	inMemory := mesh.WithTransport(meshtest.NewMemNetwork().Transport())
	voter = meshtest.Open(t, meshtest.Config(), inMemory)
	home = meshtest.Open(t, meshtest.Config(), inMemory)
	vn = join(t, voter, nbhd, leaders, true)
	hn = join(t, home, nbhd, leaders, false)
	meshtest.Connect(t, home.Host(), voter.Host())
	waitPeers(t, "the home to learn the voter subscribes", hn.TelemetryPeers, voter.ID())
	return voter, home, vn, hn
}
