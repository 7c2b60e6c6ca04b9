package testnet

import (
	"time"
)

// When a run ends (the package doc states the rule for callers): not at
// a fixed instant, but once its scenarios have played out. The pieces
// here are pure: the run's goroutine feeds them times and states.

// schedule is the scenarios' clock: when the run's end falls, and how
// late its events fired. Owned by the run's goroutine.
type schedule struct {
	t0       time.Time     // when the last home listened and the scenarios' clock began
	duration time.Duration // Config.Duration
	// end is when the run may end at the earliest: Duration after t0, or
	// later once a fault fired late (fired).
	end time.Time
	// lateMax is the most an event fired after its time.
	lateMax time.Duration
}

func newSchedule(t0 time.Time, d time.Duration) *schedule {
	return &schedule{t0: t0, duration: d, end: t0.Add(d)}
}

// due is when ev is to fire.
func (s *schedule) due(ev event) time.Time { return s.t0.Add(ev.at) }

// fired records that ev fired at firedAt and finished its work at
// doneAt. A fault keeps the recovery window its place in the schedule
// gave it, Duration less its offset, after doneAt: on a loaded machine
// a fault that fires (or finishes) late moves the end, so that what is
// judged at the end (a leader, plan coverage, every home back) is judged
// after the same recovery time on any machine.
func (s *schedule) fired(ev event, firedAt, doneAt time.Time) {
	s.lateMax = max(s.lateMax, firedAt.Sub(s.due(ev)))
	if ev.fault {
		if end := doneAt.Add(s.duration - ev.at); end.After(s.end) {
			s.end = end
		}
	}
}

// verdictState is a scenario's awaited outcome at one instant.
type verdictState struct {
	name string
	in   bool
	// due is when the outcome must be in by; zero while its scenario's
	// precondition has not held (it is then due at the schedule's end).
	due time.Time
	// missing says what has not happened yet, for the report.
	missing string
}

// mayEnd decides whether a run may end at now: the schedule's end has
// passed, none of its events is left to fire (a late event still
// fires), and every verdict is in or overdue. When it may, it returns
// the verdicts that are not in, which the report names as errors.
func mayEnd(now, end time.Time, eventsLeft int, vs []verdictState) (bool, []verdictState) {
	if now.Before(end) || eventsLeft > 0 {
		return false, nil
	}
	var overdue []verdictState
	for _, v := range vs {
		if v.in {
			continue
		}
		due := v.due
		if due.IsZero() {
			due = end
		}
		if now.Before(due) {
			return false, nil
		}
		overdue = append(overdue, v)
	}
	return true, overdue
}
