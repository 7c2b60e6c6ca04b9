package node

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestPlanRing(t *testing.T) {
	tests := []struct {
		name                 string
		added                int
		since                uint64
		wantFirst, wantLen   uint64
		wantOldest, wantNext uint64
	}{
		{name: "empty", added: 0, since: 0, wantFirst: 0, wantLen: 0, wantOldest: 1, wantNext: 1},
		{name: "all from the start", added: 3, since: 0, wantFirst: 1, wantLen: 3, wantOldest: 1, wantNext: 4},
		{name: "after the second", added: 3, since: 2, wantFirst: 3, wantLen: 1, wantOldest: 1, wantNext: 4},
		{name: "up to date", added: 3, since: 3, wantFirst: 0, wantLen: 0, wantOldest: 1, wantNext: 4},
		{name: "since beyond next (an older incarnation's cursor)", added: 3, since: 9, wantFirst: 0, wantLen: 0, wantOldest: 1, wantNext: 4},
		{name: "full, not wrapped", added: planLogSize, since: 0, wantFirst: 1, wantLen: planLogSize, wantOldest: 1, wantNext: planLogSize + 1},
		{name: "wrapped: the oldest overwritten", added: planLogSize + 10, since: 0, wantFirst: 11, wantLen: planLogSize, wantOldest: 11, wantNext: planLogSize + 11},
		{name: "wrapped, poller behind by the overwritten", added: planLogSize + 10, since: 5, wantFirst: 11, wantLen: planLogSize, wantOldest: 11, wantNext: planLogSize + 11},
		{name: "wrapped, poller within", added: 3*planLogSize + 7, since: 3*planLogSize + 2, wantFirst: 3*planLogSize + 3, wantLen: 5, wantOldest: 2*planLogSize + 8, wantNext: 3*planLogSize + 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r planRing
			for i := range tc.added {
				r.add(PlanEvent{Kind: PlanApplied, Epoch: gridmesh.Epoch{Term: 1, Index: uint64(i) + 1}})
			}
			evs, oldest, next := r.since(tc.since)
			if oldest != tc.wantOldest || next != tc.wantNext || uint64(len(evs)) != tc.wantLen {
				t.Fatalf("since(%d) = %d events, oldest %d, next %d; want %d, %d, %d", tc.since, len(evs), oldest, next, tc.wantLen, tc.wantOldest, tc.wantNext)
			}
			for k, e := range evs {
				// Seq k+first carries the (k+first)-th event added.
				if want := tc.wantFirst + uint64(k); e.Seq != want || e.Epoch.Index != want {
					t.Fatalf("event %d: seq %d, epoch %v; want seq and index %d", k, e.Seq, e.Epoch, want)
				}
			}
		})
	}
}

// GET /plans serves what the hooks recorded, after since, with the
// incarnation's boot ID; a bad since is refused.
func TestServePlanLog(t *testing.T) {
	n := &Node{}
	t0 := time.Unix(1_700_000_000, 0)
	e1, e2 := gridmesh.Epoch{Term: 2, Index: 5}, gridmesh.Epoch{Term: 2, Index: 6}
	n.planLog.committed(e1, t0, t0.Add(3*time.Millisecond))
	n.planLog.published(e1, t0.Add(4*time.Millisecond))
	n.planLog.applied(gridmesh.Plan{Epoch: e1, IssuedAtMs: t0.UnixMilli(), LeaseMs: 6000}, t0.Add(5*time.Millisecond), t0.Add(6*time.Millisecond))
	n.planLog.committed(e2, t0.Add(time.Second), t0.Add(time.Second+2*time.Millisecond))

	get := func(q string) (int, PlanLog) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/plans"+q, nil)
		n.servePlanLog(rec, req)
		var l PlanLog
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
				t.Fatalf("GET /plans%s: %v", q, err)
			}
		}
		return rec.Code, l
	}
	code, all := get("")
	if code != http.StatusOK || len(all.Events) != 4 || all.Next != 5 || all.Oldest != 1 || all.Boot == "" {
		t.Fatalf("GET /plans: %d, %+v", code, all)
	}
	want := []PlanEvent{
		{Seq: 1, Kind: PlanCommitted, Epoch: e1, BeganNs: t0.UnixNano(), DoneNs: t0.Add(3 * time.Millisecond).UnixNano()},
		{Seq: 2, Kind: PlanPublished, Epoch: e1, AtNs: t0.Add(4 * time.Millisecond).UnixNano()},
		{Seq: 3, Kind: PlanApplied, Epoch: e1, ReceivedNs: t0.Add(5 * time.Millisecond).UnixNano(), AppliedNs: t0.Add(6 * time.Millisecond).UnixNano(), IssuedAtMs: t0.UnixMilli(), LeaseMs: 6000},
		{Seq: 4, Kind: PlanCommitted, Epoch: e2, BeganNs: t0.Add(time.Second).UnixNano(), DoneNs: t0.Add(time.Second + 2*time.Millisecond).UnixNano()},
	}
	for i, e := range all.Events {
		if e != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, e, want[i])
		}
	}
	code, tail := get("?since=3")
	if code != http.StatusOK || len(tail.Events) != 1 || tail.Events[0].Seq != 4 || tail.Boot != all.Boot {
		t.Errorf("GET /plans?since=3: %d, %+v", code, tail)
	}
	if code, _ := get("?since=-1"); code != http.StatusBadRequest {
		t.Errorf("GET /plans?since=-1: %d, want 400", code)
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "0", "17", "18446744073709551615", "18446744073709551616", "-1", "1e3", " 1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSince(s)
		if err != nil {
			return
		}
		if s == "" {
			if v != 0 {
				t.Fatalf("empty since = %d", v)
			}
			return
		}
		if strconv.FormatUint(v, 10) != s && s[0] != '0' && s[0] != '+' {
			t.Fatalf("since %q read as %d", s, v)
		}
	})
}
