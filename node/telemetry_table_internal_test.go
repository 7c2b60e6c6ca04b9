package node

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

func tel(home string, seq uint64, atMs int64) gridmesh.Telemetry {
	return gridmesh.Telemetry{Home: gridmesh.HomeID(home), Seq: seq, AtMs: atMs, BaseW: gridmesh.W(seq)}
}

func homesOf(s *telemetrySnapshot) []string {
	var out []string
	for _, e := range s.entries {
		out = append(out, string(e.t.Home))
	}
	return out
}

func TestTelemetryTableKeepsTheNewestReportPerHome(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	pa, pb := peer.ID("peer-a"), peer.ID("peer-b")
	for _, tc := range []struct {
		name      string
		puts      []gridmesh.Telemetry
		froms     []peer.ID
		wantSeq   uint64
		wantFirst int // index of the put whose time is the entry's first
	}{
		{"newer seq replaces", []gridmesh.Telemetry{tel("h", 1, 10), tel("h", 2, 20)}, []peer.ID{pa, pa}, 2, 0},
		{"older seq and time are ignored", []gridmesh.Telemetry{tel("h", 2, 20), tel("h", 1, 10)}, []peer.ID{pa, pa}, 2, 0},
		{"a restarted home's later report replaces", []gridmesh.Telemetry{tel("h", 9, 20), tel("h", 1, 30)}, []peer.ID{pa, pa}, 1, 0},
		{"another peer for the home starts its first again", []gridmesh.Telemetry{tel("h", 1, 10), tel("h", 2, 20)}, []peer.ID{pa, pb}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTelemetryTable()
			for i, r := range tc.puts {
				tt.put(r, tc.froms[i], t0.Add(time.Duration(i)*time.Second))
			}
			s := tt.load()
			if len(s.entries) != 1 {
				t.Fatalf("entries = %v, want one", homesOf(s))
			}
			e := s.entries[0]
			if e.t.Seq != tc.wantSeq || !e.first.Equal(t0.Add(time.Duration(tc.wantFirst)*time.Second)) {
				t.Errorf("seq %d first %v, want seq %d first at put %d", e.t.Seq, e.first, tc.wantSeq, tc.wantFirst)
			}
			if e.fromID != e.from.String() {
				t.Errorf("fromID %q, from %q", e.fromID, e.from)
			}
		})
	}
}

// A snapshot once loaded never changes: a reader holds one view of the
// neighborhood for a whole decision, whatever the receiver puts
// meanwhile. The writer, not a reader, forgets silent homes.
func TestTelemetrySnapshotIsImmutableAndTheWriterForgets(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	tt := newTelemetryTable()
	tt.put(tel("b", 1, 1), "peer-b", t0)
	tt.put(tel("a", 1, 1), "peer-a", t0)
	before := tt.load()
	if got := homesOf(before); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("homes %v, want sorted a, b", got)
	}

	// Reading long after forgetAfter forgets nothing.
	late := t0.Add(forgetAfter + time.Minute)
	if got := before.fresh(late, time.Second); len(got) != 0 {
		t.Errorf("fresh long after: %v", got)
	}
	if got := homesOf(tt.load()); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("a read forgot homes: %v", got)
	}

	// The next put forgets both silent homes; the old snapshot is intact.
	tt.put(tel("c", 1, 1), "peer-c", late)
	if got := homesOf(tt.load()); !slices.Equal(got, []string{"c"}) {
		t.Errorf("after a put past forgetAfter: %v, want c", got)
	}
	if got := homesOf(before); !slices.Equal(got, []string{"a", "b"}) || before.entries[0].t.Seq != 1 {
		t.Errorf("the earlier snapshot changed: %v", got)
	}
	tt.put(tel("c", 2, 2), "peer-c", late.Add(time.Second))
	if got := homesOf(tt.load()); !slices.Equal(got, []string{"c"}) || tt.load().entries[0].t.Seq != 2 {
		t.Errorf("replacing c: %v", got)
	}
}

// The readers see the same snapshot the same way: fresh reports and
// dispatch inputs leave out homes too old or without a reading; the
// roster keeps every signed report, by peer, marking freshness.
func TestTelemetrySnapshotReaders(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	tt := newTelemetryTable()
	tt.put(tel("old", 1, 1), "peer-3", t0)
	noReading := tel("blind", 1, 1)
	noReading.NoReading = true
	tt.put(noReading, "peer-2", t0.Add(2*time.Second))
	tt.put(tel("ok", 7, 1), "peer-1", t0.Add(2*time.Second))
	tt.put(tel("anon", 1, 1), "", t0.Add(2*time.Second))
	s := tt.load()
	now := t0.Add(3 * time.Second)

	reports := s.freshReports(now, 2*time.Second)
	var got []string
	for _, r := range reports {
		got = append(got, string(r.Home))
	}
	if !slices.Equal(got, []string{"anon", "ok"}) {
		t.Errorf("fresh reports %v, want anon, ok", got)
	}
	states := s.fresh(now, 2*time.Second)
	if len(states) != 2 || states[1].Home != "ok" || states[1].BaseW != 7 {
		t.Errorf("fresh states %+v", states)
	}
	roster := s.roster(now, 2*time.Second)
	var peers []string
	var fresh []bool
	for _, e := range roster {
		peers, fresh = append(peers, e.Peer), append(fresh, e.Fresh)
	}
	if !slices.Equal(peers, []string{peer.ID("peer-1").String(), peer.ID("peer-2").String(), peer.ID("peer-3").String()}) ||
		!slices.Equal(fresh, []bool{true, true, false}) {
		t.Errorf("roster peers %v fresh %v", peers, fresh)
	}
}
