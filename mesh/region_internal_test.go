package mesh

import (
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

// An author's aggregates are spaced by their signed stamps, not by when
// gossip delivered them: two sent the interval apart are both taken even
// when they arrive together, and a stamp too close to the last, or not
// after it, is ignored.
func TestAggregateIntervalJudgedOnStamps(t *testing.T) {
	const interval = 2 * time.Second
	r := &Region{m: &Mesh{}, cfg: RegionConfig{AggregateMinInterval: interval}, lastAgg: make(map[peer.ID]time.Time)}
	author := peer.ID("leader-a")
	t0 := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	arrive := t0.Add(5 * time.Second) // every copy arrives at once
	for _, tc := range []struct {
		name    string
		stamp   time.Duration
		verdict pubsub.ValidationResult
	}{
		{"first", 0, pubsub.ValidationAccept},
		{"sent the interval later, arriving with the first", interval, pubsub.ValidationAccept},
		{"stamped within the interval of the last", interval + interval/2, pubsub.ValidationIgnore},
		{"a replay of the last", interval, pubsub.ValidationIgnore},
		{"an older stamp", 0, pubsub.ValidationIgnore},
		{"the interval after the last accepted", 2 * interval, pubsub.ValidationAccept},
	} {
		agg := gridmesh.Aggregate{
			Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 1, Index: 1},
			AtMs: t0.Add(tc.stamp).UnixMilli(), ForS: 15,
		}
		got, reason := r.judgeAggregate(RegionMessage{Version: gridmesh.WireVersion, Aggregate: &agg}, author, arrive)
		if got != tc.verdict {
			t.Errorf("%s: verdict %v (%s), want %v", tc.name, got, reason, tc.verdict)
		}
		if got == pubsub.ValidationIgnore && reason != ReasonAggregateTooFrequent {
			t.Errorf("%s: reason %q, want %q", tc.name, reason, ReasonAggregateTooFrequent)
		}
	}
	// Another author has its own interval.
	agg := gridmesh.Aggregate{Version: gridmesh.WireVersion, Neighborhood: "n2", Epoch: gridmesh.Epoch{Term: 1, Index: 1}, AtMs: t0.UnixMilli(), ForS: 15}
	if got, reason := r.judgeAggregate(RegionMessage{Version: gridmesh.WireVersion, Aggregate: &agg}, peer.ID("leader-b"), arrive); got != pubsub.ValidationAccept {
		t.Errorf("another author's first aggregate: %v (%s)", got, reason)
	}
}
