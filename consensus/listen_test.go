package consensus

import (
	"testing"
	"time"
)

func TestListen(t *testing.T) {
	now := upkeepNow
	members := map[string]bool{"p0": true, "p1": true, "p2": true}
	led := ListenState{LeaderSeen: now}
	leaderless := func(d time.Duration) ListenState { return ListenState{LeaderSeen: now.Add(-d)} }
	follower := ListenInput{HasState: true, Members: members, Neighbors: []string{"p1", "p2"}}
	with := func(change func(*ListenInput)) ListenInput {
		in := follower
		change(&in)
		return in
	}
	tests := []struct {
		name string
		st   ListenState
		in   ListenInput
		want bool
	}{
		{name: "a follower whose neighbors are all members does not listen", st: led, in: follower},
		{name: "a home without state listens", st: led, in: with(func(in *ListenInput) { in.HasState = false }), want: true},
		{name: "a voter listens", st: led, in: with(func(in *ListenInput) { in.Voter = true }), want: true},
		{name: "a neighbor outside the configuration makes it listen", st: led,
			in: with(func(in *ListenInput) { in.Neighbors = []string{"p1", "p7"} }), want: true},
		{name: "with the configuration unknown, neighbors do not count", st: led,
			in: with(func(in *ListenInput) { in.Members, in.Neighbors = nil, []string{"p7"} })},
		{name: "leaderless for leaderlessListen, it does not listen yet", st: leaderless(leaderlessListen), in: follower},
		{name: "leaderless for longer, it listens", st: leaderless(leaderlessListen + time.Nanosecond), in: follower, want: true},
		{name: "a leader known now resets the clock", st: leaderless(time.Hour),
			in: with(func(in *ListenInput) { in.LeaderKnown = true })},
		{name: "a home just started is not leaderless", in: follower},

		// A home following plans outside the configuration on beacons.
		{name: "beaconed without state, it does not listen", st: led,
			in: with(func(in *ListenInput) { in.HasState, in.Members, in.Beaconed, in.LeaderKnown = false, nil, true, true })},
		{name: "beaconed with stale state, neighbors outside do not make it listen", st: led,
			in: with(func(in *ListenInput) { in.Neighbors, in.Beaconed, in.LeaderKnown = []string{"p7"}, true, true })},
		{name: "a beaconed voter (just promoted) listens", st: led,
			in: with(func(in *ListenInput) { in.Voter, in.Beaconed = true, true }), want: true},
		{name: "beaconed but leaderless for longer than leaderlessListen, it listens", st: leaderless(leaderlessListen + time.Nanosecond),
			in: with(func(in *ListenInput) { in.Beaconed = true }), want: true},
	}
	for _, tt := range tests {
		st, got := Listen(tt.st, tt.in, now)
		if got != tt.want {
			t.Errorf("%s: listen %v, want %v", tt.name, got, tt.want)
		}
		if (tt.in.LeaderKnown || tt.st.LeaderSeen.IsZero()) && !st.LeaderSeen.Equal(now) {
			t.Errorf("%s: leader seen %v, want now", tt.name, st.LeaderSeen)
		}
	}
}
