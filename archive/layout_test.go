package archive

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestWindowOf(t *testing.T) {
	at := time.Date(2026, 12, 4, 13, 47, 12, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		every time.Duration
		want  time.Time
	}{
		{time.Hour, time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)},
		{15 * time.Minute, time.Date(2026, 12, 4, 12, 45, 0, 0, time.UTC)},
		{time.Second, time.Date(2026, 12, 4, 12, 47, 12, 0, time.UTC)},
		{6 * time.Hour, time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)},
	} {
		if got := windowOf(at, tc.every); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("windowOf(%v, %v) = %v, want %v UTC", at, tc.every, got, tc.want)
		}
	}
}

func TestPartitionDir(t *testing.T) {
	start := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		p    partition
		want string
	}{
		{partition{TableTelemetry, start, "oak-street"}, "telemetry/date=2026-12-04/nbhd=oak-street"},
		{partition{TablePlans, start.Add(time.Hour), "n0"}, "plans/date=2026-12-05/nbhd=n0"},
		{partition{TableSignals, start, ""}, "signals/date=2026-12-04"},
	} {
		if got := tc.p.dir("/a"); got != filepath.Join("/a", tc.want) {
			t.Errorf("%+v: dir %q, want /a/%s", tc.p, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	final := fileName("AbCdEfGhJk", 7)
	if final != "part-AbCdEfGhJk-0007.parquet" {
		t.Errorf("fileName = %q", final)
	}
	if tmp := tempName(final); !isTemp(tmp) || isTemp(final) || tmp != ".part-AbCdEfGhJk-0007.parquet.tmp" {
		t.Errorf("tempName = %q (isTemp %v), final isTemp %v", tmp, isTemp(tmp), isTemp(final))
	}
	for _, tc := range []struct {
		names []string
		want  int
	}{
		{nil, 1},
		{[]string{"part-other-0009.parquet"}, 1},
		{[]string{"part-tag-0001.parquet", "part-tag-0003.parquet", "part-other-0009.parquet"}, 4},
		{[]string{"part-tag-0001.parquet", ".part-tag-0002.parquet.tmp"}, 3},
		{[]string{"part-tag-12345.parquet"}, 12346},
		{[]string{"part-tag-junk.parquet", "part-tagx-0005.parquet"}, 1},
	} {
		if got := nextSeq(tc.names, "tag"); got != tc.want {
			t.Errorf("nextSeq(%q) = %d, want %d", tc.names, got, tc.want)
		}
	}
	if got := tagOf("12D3KooWAbCdEfGhJkLmNoPqRs"); got != "JkLmNoPqRs" {
		t.Errorf("tagOf = %q", got)
	}
}

func TestSupersedes(t *testing.T) {
	cur := leaderOf{"a", gridmesh.Epoch{Term: 3, Index: 10}}
	for _, tc := range []struct {
		name  string
		known bool
		next  leaderOf
		want  bool
	}{
		{"first", false, leaderOf{"b", gridmesh.Epoch{Term: 1, Index: 1}}, true},
		{"later term", true, leaderOf{"b", gridmesh.Epoch{Term: 4, Index: 2}}, true},
		{"same term newer index", true, leaderOf{"a", gridmesh.Epoch{Term: 3, Index: 11}}, true},
		{"same epoch", true, leaderOf{"a", gridmesh.Epoch{Term: 3, Index: 10}}, true},
		{"same term older index", true, leaderOf{"a", gridmesh.Epoch{Term: 3, Index: 9}}, false},
		{"deposed leader", true, leaderOf{"c", gridmesh.Epoch{Term: 2, Index: 99}}, false},
	} {
		if got := supersedes(cur, tc.known, tc.next); got != tc.want {
			t.Errorf("%s: supersedes = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLeaderView(t *testing.T) {
	b := newLeaderBook()
	v := b.view("n0")
	if p, term := v.Leader(); p != "" || term != 0 {
		t.Fatalf("empty book: leader %q term %d", p, term)
	}
	b.learn("n0", "a", gridmesh.Epoch{Term: 2, Index: 5})
	b.learn("n1", "x", gridmesh.Epoch{Term: 9, Index: 1})
	b.learn("n0", "old", gridmesh.Epoch{Term: 1, Index: 50})
	if p, term := v.Leader(); p != "a" || term != 2 {
		t.Errorf("leader %q term %d, want a 2", p, term)
	}
}
