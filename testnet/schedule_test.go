package testnet

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node"
)

func TestScheduleFaultKeepsItsRecoveryWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 17, 30, 0, 0, time.UTC)
	const d = 20 * time.Second
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, tc := range []struct {
		name            string
		ev              event
		fired, done     time.Time
		wantEnd         time.Time
		wantLateMax     time.Duration
		firstFiredLater bool // a fault fired earlier moved the end further already
	}{
		{"on time", event{at: 14 * time.Second, fault: true}, at(14), at(14.2), at(20.2), 0, false},
		{"late fault", event{at: 14 * time.Second, fault: true}, at(17), at(17.5), at(23.5), 3 * time.Second, false},
		{"late, not a fault", event{at: 14 * time.Second}, at(17), at(17.5), at(20), 3 * time.Second, false},
		{"a fault that waited for its target", event{at: 7 * time.Second, fault: true}, at(7), at(12), at(25), 0, false},
		{"an earlier end stays", event{at: 14 * time.Second, fault: true}, at(14), at(14), at(26), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule(t0, d)
			if tc.firstFiredLater {
				s.fired(event{at: 4 * time.Second, fault: true}, at(4), at(10))
			}
			s.fired(tc.ev, tc.fired, tc.done)
			if !s.end.Equal(tc.wantEnd) {
				t.Errorf("end at %v, want %v", s.end.Sub(t0), tc.wantEnd.Sub(t0))
			}
			if s.lateMax != tc.wantLateMax {
				t.Errorf("late at most %v, want %v", s.lateMax, tc.wantLateMax)
			}
		})
	}
}

func TestMayEnd(t *testing.T) {
	end := time.Date(2026, 1, 15, 17, 30, 10, 0, time.UTC)
	after := func(d time.Duration) time.Time { return end.Add(d) }
	in := verdictState{name: "in", in: true, due: after(time.Second)}
	pending := verdictState{name: "pending", due: after(3 * time.Second), missing: "x"}
	unknown := verdictState{name: "precondition never held", missing: "y"}
	for _, tc := range []struct {
		name        string
		now         time.Time
		eventsLeft  int
		vs          []verdictState
		want        bool
		wantOverdue []string
	}{
		{"before the end", after(-time.Millisecond), 0, nil, false, nil},
		{"at the end", end, 0, nil, true, nil},
		{"an event left to fire", after(time.Second), 1, nil, false, nil},
		{"verdicts in", end, 0, []verdictState{in}, true, nil},
		{"a verdict pending, not due", after(time.Second), 0, []verdictState{in, pending}, false, nil},
		{"a verdict overdue", after(3 * time.Second), 0, []verdictState{in, pending}, true, []string{"pending"}},
		{"due unknown: due at the end", end, 0, []verdictState{unknown}, true, []string{"precondition never held"}},
		{"one overdue, one still due", after(time.Second), 0, []verdictState{unknown, pending}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, overdue := mayEnd(tc.now, end, tc.eventsLeft, tc.vs)
			if got != tc.want {
				t.Fatalf("may end %v, want %v", got, tc.want)
			}
			var names []string
			for _, v := range overdue {
				names = append(names, v.name)
			}
			if len(names) != len(tc.wantOverdue) {
				t.Fatalf("overdue %v, want %v", names, tc.wantOverdue)
			}
			for i := range names {
				if names[i] != tc.wantOverdue[i] {
					t.Fatalf("overdue %v, want %v", names, tc.wantOverdue)
				}
			}
		})
	}
}

func TestWithNetworkFigures(t *testing.T) {
	stopped := node.Status{Counters: map[string]uint64{"loop_ticks": 120, "plans_accepted": 9}}
	up := node.Status{
		Counters:   map[string]uint64{"loop_ticks": 118, "plans_accepted": 9, "raft_streams_refused": 2},
		Rejections: map[string]uint64{"admission-refused/no-certificate": 1, "non-member": 7},
		Region:     &node.RegionStatus{Rejections: map[string]uint64{"signal/bad-signature": 1}},
	}
	got := withNetworkFigures(stopped, up)
	if got.Counters["loop_ticks"] != 120 {
		t.Errorf("loop_ticks %d: the node's own counter, final, wanted 120", got.Counters["loop_ticks"])
	}
	if got.Counters["raft_streams_refused"] != 2 {
		t.Errorf("raft_streams_refused %d, want the network's 2", got.Counters["raft_streams_refused"])
	}
	if got.Rejections["non-member"] != 7 || got.Rejections["admission-refused/no-certificate"] != 1 {
		t.Errorf("rejections %v, want the network's", got.Rejections)
	}
	if got.Region == nil || got.Region.Rejections["signal/bad-signature"] != 1 {
		t.Errorf("region %+v, want the network's", got.Region)
	}
	if stopped.Counters["raft_streams_refused"] != 0 {
		t.Error("the stopped status's counters were written to")
	}

	down := node.Status{Counters: map[string]uint64{"loop_ticks": 3}}
	if got := withNetworkFigures(stopped, down); got.Rejections != nil || got.Counters["loop_ticks"] != 120 {
		t.Errorf("a status taken with the network down changed the final one: %+v", got)
	}
}
