package ocpp

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// How the driver paces its profiles. A control loop may change its
// command every tick; a charger wants few profiles (OCPP-J takes one
// request at a time, and some chargers write profiles to flash). So the
// driver keeps what gridmesh wants apart from what the charger holds,
// and sends a profile when the policy below says so: a limit that moved
// beyond the deadband (or started or stopped charging, or a transaction
// that began or ended), at most once per MinWriteInterval; the same
// profile again at half its validity, so the charger does not drop it
// while gridmesh holds it; never while one is unanswered, nor before the
// backoff after a refused or unanswered one has passed.

// writePolicy is when a profile is sent: pure, of what was sent, what is
// wanted and the time.
type writePolicy struct {
	minInterval time.Duration // between two profiles sent
	refresh     time.Duration // resend an unchanged profile this long after the last
	deadbandW   gridmesh.W    // a smaller move is not sent
}

// policy is the configuration's write policy.
func (c Config) policy() writePolicy {
	return writePolicy{minInterval: c.MinWriteInterval, refresh: c.ProfileValidity / 2, deadbandW: c.DeadbandW}
}

// steer is the setpoint the driver holds on the charger.
type steer struct {
	want   gridmesh.W // clamped
	wanted bool       // false before the first setpoint and after a release

	sent   profileSpec // what the charger accepted last, on this connection
	sentW  gridmesh.W  // the power it was for
	sentOK bool        // false: the charger holds none of ours that we know of
	sentAt time.Time

	inFlight  bool      // a profile is sent and not answered
	lastWrite time.Time // when the last profile was sent
	retryAt   time.Time // not before: the backoff after a refusal or no answer
}

// decide reports whether to send target (the profile for st.want) now,
// and else when to look again (zero: only when something changes).
func (p writePolicy) decide(st steer, target profileSpec, now time.Time) (send bool, wakeAt time.Time) {
	if !st.wanted || st.inFlight {
		return false, time.Time{}
	}
	refreshAt := st.sentAt.Add(p.refresh)
	if st.sentOK && !p.moved(st, target) && now.Before(refreshAt) {
		return false, refreshAt
	}
	earliest := st.lastWrite.Add(p.minInterval)
	if st.retryAt.After(earliest) {
		earliest = st.retryAt
	}
	if !st.lastWrite.IsZero() && now.Before(earliest) || now.Before(st.retryAt) {
		return false, earliest
	}
	return true, time.Time{}
}

// moved reports whether target differs from what the charger holds
// enough to be sent: another transaction or unit, charging started or
// stopped, or a limit that changed by the deadband or more.
func (p writePolicy) moved(st steer, target profileSpec) bool {
	switch {
	case target.same(st.sent):
		return false
	case target.txID != st.sent.txID, target.unit != st.sent.unit, (st.want == 0) != (st.sentW == 0):
		return true
	}
	return gridmesh.W(math.Abs(float64(st.want-st.sentW))) >= p.deadbandW
}
