package mesh

import (
	"slices"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A peer's bucket holds its burst, refills at its rate, and is its own.
func TestLimiters(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a, b := peer.ID("a"), peer.ID("b")
	l := newLimiters(authorRate, authorBurst)
	allowed := 0
	for range 100 {
		if l.allow(a, t0) {
			allowed++
		}
	}
	if allowed != authorBurst {
		t.Errorf("at one instant %d of 100 allowed, want the burst %d", allowed, authorBurst)
	}
	if !l.allow(b, t0) {
		t.Error("another peer's flood emptied b's bucket")
	}
	if !l.allow(a, t0.Add(time.Second/time.Duration(authorRate))) {
		t.Error("no token a refill period later")
	}
	if l.allow(a, t0.Add(time.Second/time.Duration(authorRate))) {
		t.Error("two tokens a refill period later")
	}
}

// The set forgets idle peers once it is full, and starts over when none
// is idle: it stays bounded whatever the number of identities.
func TestLimitersBounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := newLimiters(authorRate, authorBurst)
	for i := range maxLimited {
		l.allow(peer.ID(rune(i)), t0)
	}
	l.allow("late", t0.Add(2*limitIdle))
	if n := len(l.m); n != 1 {
		t.Errorf("after idle entries pruned: %d entries, want 1", n)
	}
	for i := range 2 * maxLimited {
		l.allow(peer.ID(rune(i)), t0.Add(2*limitIdle))
	}
	if n := len(l.m); n > maxLimited {
		t.Errorf("%d entries, more than %d", n, maxLimited)
	}
}

func TestSummarizeScores(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scores   map[peer.ID]float64
		want     PeerScores
		wantGray []peer.ID
	}{
		{name: "none", scores: nil, want: PeerScores{}},
		{name: "honest", scores: map[peer.ID]float64{"a": 3, "b": -90}, want: PeerScores{Peers: 2, Min: -90, Max: 3}},
		{name: "a flooder", scores: map[peer.ID]float64{"a": 3, "z": graylistThreshold - 1, "y": -1e6},
			want: PeerScores{Peers: 3, Min: -1e6, Max: 3}, wantGray: []peer.ID{"y", "z"}},
		{name: "at the threshold", scores: map[peer.ID]float64{"a": graylistThreshold},
			want: PeerScores{Peers: 1, Min: graylistThreshold, Max: graylistThreshold}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summarizeScores(tc.scores)
			if got.Peers != tc.want.Peers || got.Min != tc.want.Min || got.Max != tc.want.Max {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if len(got.Graylisted) != len(tc.wantGray) {
				t.Fatalf("graylisted %v, want %v", got.Graylisted, tc.wantGray)
			}
			for i := range got.Graylisted {
				if got.Graylisted[i] != tc.wantGray[i] {
					t.Errorf("graylisted %v, want %v", got.Graylisted, tc.wantGray)
				}
			}
		})
	}
}

// The thresholds keep the promises docs/SECURITY.md makes: a handful of
// invalid messages (a deposed leader's stale plans) leave a peer above
// every threshold; 16 graylist it even with every positive contribution
// at its cap.
func TestThresholdsAgainstInvalidMessages(t *testing.T) {
	p4 := func(n float64) float64 { return invalidWeight * n * n }
	if s := p4(3); s < gossipThreshold {
		t.Errorf("3 invalid messages score %v, below the gossip threshold %v", s, gossipThreshold)
	}
	if s := topicScoreCap + p4(16); s >= graylistThreshold {
		t.Errorf("16 invalid messages with a full cap score %v, not below the graylist threshold %v", s, graylistThreshold)
	}
}

// Only peers graylisted for what they sent are handed on to be shut out:
// one below the threshold for broken IHAVE promises alone is reported
// graylisted and left connected.
func TestGraylistedForInvalidMessagesOnly(t *testing.T) {
	penalty := func(bp float64) float64 { e := bp - behaviourThreshold; return behaviourWeight * e * e }
	invalid := func(n float64) float64 { return invalidWeight * n * n }
	snaps := map[peer.ID]*pubsub.PeerScoreSnapshot{
		"slow":    {Score: penalty(30), BehaviourPenalty: 30},                            // −5760, promises only
		"flooder": {Score: invalid(20), Topics: map[string]*pubsub.TopicScoreSnapshot{}}, // −4000
		"both":    {Score: invalid(18) + penalty(10), BehaviourPenalty: 10},
		"fine":    {Score: 3},
		"mild":    {Score: invalid(10) + penalty(20), BehaviourPenalty: 20}, // −1000 − 1960: graylisted, but not for invalid messages alone
	}
	var shut []peer.ID
	s := scoreBoard{graylisted: func(ps []peer.ID) { shut = append(shut, ps...) }}
	s.inspect(snaps)
	if want := []peer.ID{"both", "flooder"}; !slices.Equal(shut, want) {
		t.Errorf("shut out %v, want %v", shut, want)
	}
	if got, want := s.last.Load().Graylisted, []peer.ID{"both", "flooder", "mild", "slow"}; !slices.Equal(got, want) {
		t.Errorf("reported graylisted %v, want %v", got, want)
	}
}

// An author's bucket runs on its own stamps: messages published a
// second apart that arrive at once (the receiver stalled) are all
// allowed; stamps older than the newest, or in the future, gain nothing
// over arrival time.
func TestLimitersOnStamps(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	arrival := t0.Add(60 * time.Second)
	l := newLimiters(authorRate, authorBurst)
	for i := range 60 { // a minute of reports, one a second, all arriving now
		if !l.allowAt("honest", arrival, t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("report %d of a minute published 1/s refused", i)
		}
	}
	for _, tc := range []struct {
		name  string
		stamp func(i int) time.Time
	}{
		{"same stamp", func(int) time.Time { return t0 }},
		{"stamps going back", func(i int) time.Time { return t0.Add(-time.Duration(i) * time.Second) }},
		{"alternating old and new", func(i int) time.Time { return t0.Add(time.Duration(i%2) * -time.Hour) }},
		{"future stamps", func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }},
	} {
		l := newLimiters(authorRate, authorBurst)
		allowed := 0
		for i := range 100 { // 100 messages arriving at t0
			if l.allowAt("flooder", t0, tc.stamp(i)) {
				allowed++
			}
		}
		if allowed > authorBurst {
			t.Errorf("%s: %d of 100 allowed at one instant, more than the burst %d", tc.name, allowed, authorBurst)
		}
	}
}
