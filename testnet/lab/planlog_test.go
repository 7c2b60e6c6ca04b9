package lab

import (
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh"
)

func TestDecodePlanLog(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		since uint64
		ok    bool
	}{
		{"empty", `{"boot":"b1","next":1,"oldest":1,"events":[]}`, 0, true},
		{"one of each", `{"boot":"b1","next":4,"oldest":1,"events":[
			{"seq":1,"kind":"committed","epoch":{"term":2,"index":5},"began_ns":10,"done_ns":12},
			{"seq":2,"kind":"published","epoch":{"term":2,"index":5},"at_ns":13},
			{"seq":3,"kind":"applied","epoch":{"term":2,"index":5},"received_ns":14,"applied_ns":15,"lease_ms":6000}]}`, 0, true},
		{"after since", `{"boot":"b1","next":4,"oldest":1,"events":[{"seq":3,"kind":"published","at_ns":13}]}`, 2, true},
		{"at or before since", `{"boot":"b1","next":4,"oldest":1,"events":[{"seq":2,"kind":"published","at_ns":13}]}`, 2, false},
		{"out of order", `{"boot":"b1","next":4,"oldest":1,"events":[{"seq":2,"kind":"published","at_ns":1},{"seq":1,"kind":"published","at_ns":2}]}`, 0, false},
		{"beyond next", `{"boot":"b1","next":2,"oldest":1,"events":[{"seq":2,"kind":"published","at_ns":1}]}`, 0, false},
		{"older than oldest", `{"boot":"b1","next":9,"oldest":5,"events":[{"seq":4,"kind":"published","at_ns":1}]}`, 0, false},
		{"no boot", `{"next":1,"oldest":1,"events":[]}`, 0, false},
		{"oldest after next", `{"boot":"b","next":1,"oldest":3,"events":[]}`, 0, false},
		{"unknown kind", `{"boot":"b","next":2,"oldest":1,"events":[{"seq":1,"kind":"forgotten","at_ns":1}]}`, 0, false},
		{"commit returning before its call", `{"boot":"b","next":2,"oldest":1,"events":[{"seq":1,"kind":"committed","began_ns":5,"done_ns":4}]}`, 0, false},
		{"applied without a time", `{"boot":"b","next":2,"oldest":1,"events":[{"seq":1,"kind":"applied"}]}`, 0, false},
		{"not JSON", `<html>`, 0, false},
	}
	for _, tc := range tests {
		_, err := decodePlanLog(strings.NewReader(tc.body), tc.since)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func FuzzDecodePlanLog(f *testing.F) {
	f.Add([]byte(`{"boot":"b1","next":4,"oldest":1,"events":[{"seq":1,"kind":"committed","epoch":{"term":2,"index":5},"began_ns":10,"done_ns":12},{"seq":3,"kind":"applied","received_ns":14,"applied_ns":15}]}`), uint64(0))
	f.Add([]byte(`{"boot":"b","next":1,"oldest":3,"events":[]}`), uint64(7))
	f.Add([]byte(`[]`), uint64(0))
	f.Fuzz(func(t *testing.T, body []byte, since uint64) {
		a, err := decodePlanLog(strings.NewReader(string(body)), since)
		if err != nil {
			return
		}
		// What is accepted can be folded: in order, after since, held.
		prev := since
		for _, e := range a.Events {
			if e.Seq <= prev || e.Seq < a.Oldest || e.Seq >= a.Next || e.check() != nil {
				t.Fatalf("accepted %+v after %d", e, prev)
			}
			prev = e.Seq
		}
	})
}

// ev is an applied event numbered seq.
func ev(seq uint64) planEvent {
	return planEvent{Seq: seq, Kind: "applied", Epoch: gridmesh.Epoch{Term: 1, Index: seq}, ReceivedNs: 1, AppliedNs: 2}
}

func TestPlanHistoryFold(t *testing.T) {
	h := newPlanHistory([]int{0, 1}, 2)
	h.fold(0, planLogAnswer{Boot: "a", Next: 4, Oldest: 1, Events: []planEvent{ev(1), ev(2), ev(3)}})
	// A read racing the previous one returns some of the same events.
	h.fold(0, planLogAnswer{Boot: "a", Next: 5, Oldest: 1, Events: []planEvent{ev(3), ev(4)}})
	// The home overwrote 5..9 before the lab read them.
	h.fold(0, planLogAnswer{Boot: "a", Next: 12, Oldest: 10, Events: []planEvent{ev(10), ev(11)}})
	// Restarted: a new incarnation numbers from 1 again.
	h.fold(0, planLogAnswer{Boot: "b", Next: 3, Oldest: 1, Events: []planEvent{ev(1), ev(2)}})
	h.fold(1, planLogAnswer{Boot: "c", Next: 2, Oldest: 1, Events: []planEvent{ev(1)}})
	if h.missed != 5 || h.reads != 5 {
		t.Errorf("missed %d, reads %d; want 5, 5", h.missed, h.reads)
	}
	if len(h.events[0]) != 8 || len(h.events[1]) != 1 {
		t.Errorf("events %d, %d; want 8 (1-4, 10, 11 and the restart's 1, 2) and 1", len(h.events[0]), len(h.events[1]))
	}
	if h.since(0, "a") != 11 || h.since(0, "b") != 2 || h.since(0, "z") != 0 {
		t.Errorf("cursors %d, %d, %d", h.since(0, "a"), h.since(0, "b"), h.since(0, "z"))
	}
}

// The lab's checker accepts a history where a late apply was of a plan
// published before the next commit, and catches one where a deposed
// leader published after a newer plan was committed and applied.
func TestPlanHistoryCheck(t *testing.T) {
	e1, e2 := gridmesh.Epoch{Term: 1, Index: 5}, gridmesh.Epoch{Term: 2, Index: 7}
	commit := func(home int, e gridmesh.Epoch, began, done int64) homeEvent {
		return homeEvent{home, planEvent{Kind: "committed", Epoch: e, BeganNs: began, DoneNs: done}}
	}
	publish := func(home int, e gridmesh.Epoch, at int64) homeEvent {
		return homeEvent{home, planEvent{Kind: "published", Epoch: e, AtNs: at}}
	}
	apply := func(home int, e gridmesh.Epoch, at int64) homeEvent {
		return homeEvent{home, planEvent{Kind: "applied", Epoch: e, ReceivedNs: at, AppliedNs: at}}
	}
	tests := []struct {
		name        string
		events      []homeEvent
		result      string
		ops, unpubd int
	}{
		{"fine: applied late, published in time", []homeEvent{
			commit(0, e1, 0, 10), publish(0, e1, 11), apply(2, e1, 40), commit(1, e2, 20, 30), publish(1, e2, 31), apply(2, e2, 45), apply(0, e2, 35),
		}, "ok", 5, 0},
		{"a deposed leader publishes after the next commit", []homeEvent{
			commit(0, e1, 0, 10), commit(1, e2, 20, 30), publish(1, e2, 31), apply(2, e2, 35), publish(0, e1, 36), apply(2, e1, 40),
		}, "illegal", 4, 0},
		{"an apply whose publication was lost is left out", []homeEvent{
			commit(0, e1, 0, 10), publish(0, e1, 11), apply(1, e1, 12), apply(1, e2, 50),
		}, "ok", 2, 1},
		{"applied before published", []homeEvent{
			commit(0, e1, 0, 10), publish(0, e1, 30), apply(1, e1, 20),
		}, "illegal", 1, 0},
	}
	for _, tc := range tests {
		h := newPlanHistory([]int{0, 0, 0}, 1)
		h.events[0] = tc.events
		r := h.check([]string{"n0"})
		if r.Result != tc.result || r.Operations != tc.ops || r.AppliedUnpublished != tc.unpubd {
			t.Errorf("%s: %+v; want %s, %d operations, %d unpublished", tc.name, r, tc.result, tc.ops, tc.unpubd)
		}
	}
}
