package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// ChargerParams describes an EV charger and the car that plugs into it.
// On any day the car may come home, plug in, want some energy and leave
// some hours later; Seed decides which days and when, so the sessions are
// a pure function of the seed and the day.
type ChargerParams struct {
	// MinW and MaxW bound a charging power: the charger is off or between
	// them (1.4 kW, 6 A on one phase, to 11 kW, 16 A on three).
	MinW, MaxW gridmesh.W
	// SessionChance is the chance, 0..1, that the car plugs in on a day.
	SessionChance float64
	// The car arrives in [ArriveHour, ArriveHour+ArriveSpanHours), hours
	// since local midnight.
	ArriveHour, ArriveSpanHours float64
	// It stays plugged in for [StayHours, StayHours+StaySpanHours) hours.
	StayHours, StaySpanHours float64
	// It wants [WantMinWh, WantMinWh+WantSpanWh) per session.
	WantMinWh, WantSpanWh gridmesh.Wh
	// Seed makes the car's habits its own.
	Seed uint64
}

// maxSessionHours bounds how far a session may reach past its day's
// earliest arrival: 23 h, so a session ends before the next day's earliest
// arrival even on a 23-hour daylight-saving day.
const maxSessionHours = 23.0

// Validate checks the power range, the chance and the session windows,
// and that one day's session ends before the next day's can begin.
func (p ChargerParams) Validate() error {
	if !p.MinW.Finite() || !p.MaxW.Finite() || p.MinW <= 0 || p.MinW > p.MaxW || p.MaxW > gridmesh.MaxHomePowerW {
		return fmt.Errorf("%w: charger range [%v, %v] not within (0, %v]", ErrInvalidParams, p.MinW, p.MaxW, gridmesh.MaxHomePowerW)
	}
	if c := p.SessionChance; math.IsNaN(c) || c < 0 || c > 1 {
		return fmt.Errorf("%w: session chance %v outside [0, 1]", ErrInvalidParams, c)
	}
	if !(p.ArriveHour >= 0 && p.ArriveSpanHours >= 0 && p.ArriveHour+p.ArriveSpanHours <= 24) {
		return fmt.Errorf("%w: arrival %v h + %v h not within a day", ErrInvalidParams, p.ArriveHour, p.ArriveSpanHours)
	}
	if !(p.StayHours > 0 && p.StaySpanHours >= 0 && p.ArriveSpanHours+p.StayHours+p.StaySpanHours <= maxSessionHours) {
		return fmt.Errorf("%w: stay %v h + %v h after a %v h arrival window exceeds %v h", ErrInvalidParams,
			p.StayHours, p.StaySpanHours, p.ArriveSpanHours, maxSessionHours)
	}
	if !p.WantMinWh.Finite() || !p.WantSpanWh.Finite() || p.WantMinWh < 0 || p.WantSpanWh < 0 || p.WantMinWh+p.WantSpanWh > gridmesh.MaxHomeEnergyWh {
		return fmt.Errorf("%w: wanted energy %v + %v Wh out of range", ErrInvalidParams, float64(p.WantMinWh), float64(p.WantSpanWh))
	}
	return nil
}

// Session is one stay of the car at the charger.
type Session struct {
	// Arrive and Depart bound the stay: the car is plugged in at t when
	// Arrive <= t < Depart.
	Arrive, Depart time.Time
	// WantWh is the energy the car wants over the stay.
	WantWh gridmesh.Wh
}

// SessionOn returns the session that begins on the local day of t (in t's
// location), if the car comes home that day.
func (p ChargerParams) SessionOn(t time.Time) (Session, bool) {
	y, m, d := t.Date()
	x := uint64(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86_400)
	if unit(p.Seed, saltSessionOn, x) >= p.SessionChance {
		return Session{}, false
	}
	midnight := time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	arrive := midnight.Add(hours(p.ArriveHour + unit(p.Seed, saltSessionArrive, x)*p.ArriveSpanHours))
	return Session{
		Arrive: arrive,
		Depart: arrive.Add(hours(p.StayHours + unit(p.Seed, saltSessionStay, x)*p.StaySpanHours)),
		WantWh: p.WantMinWh + gridmesh.Wh(unit(p.Seed, saltSessionWant, x))*p.WantSpanWh,
	}, true
}

// SessionAt returns the session in progress at t, if a car is plugged in.
func (p ChargerParams) SessionAt(t time.Time) (Session, bool) {
	y, m, d := t.Date()
	for _, day := range []time.Time{time.Date(y, m, d-1, 12, 0, 0, 0, t.Location()), t} {
		if s, ok := p.SessionOn(day); ok && !t.Before(s.Arrive) && t.Before(s.Depart) {
			return s, true
		}
	}
	return Session{}, false
}

// ChargerCommand is what the charger is told to do. The zero value is the
// charger's default: charge at MaxW while a car wants energy.
type ChargerCommand struct {
	// Manual is true once the charger has been given a power.
	Manual bool
	// PowerW is that power: 0 or less stops charging, a power below MinW
	// charges at MinW, above MaxW at MaxW.
	PowerW gridmesh.W
}

// EVState is a charger's state at an instant.
type EVState struct {
	// SessionMs identifies the session in progress by its arrival, in Unix
	// ms; 0 while no car is plugged in.
	SessionMs int64
	// DeliveredWh is the energy charged this session.
	DeliveredWh gridmesh.Wh
	// PowerW is the charging power at the instant the state describes.
	PowerW gridmesh.W
}

// Step integrates the charger from at over dt under a constant command
// and returns the state at at+dt. A new session starts with nothing
// delivered; charging stops when the car has what it wanted or leaves.
// PowerW is the power at the end of the interval (with dt <= 0, at at).
// Over any interval DeliveredWh grows by at most MaxW times its length.
func (p ChargerParams) Step(s EVState, cmd ChargerCommand, at time.Time, dt time.Duration) EVState {
	end := at.Add(max(dt, 0))
	for {
		sess, ok := p.SessionAt(at)
		if !ok {
			s = EVState{}
			if !at.Before(end) {
				return s
			}
			at = minTime(p.nextArrivalOrMidnight(at), end)
			continue
		}
		if s.SessionMs != sess.Arrive.UnixMilli() {
			s = EVState{SessionMs: sess.Arrive.UnixMilli()}
		}
		s.DeliveredWh = min(max(s.DeliveredWh, 0), sess.WantWh)
		w := p.power(cmd)
		if s.DeliveredWh >= sess.WantWh {
			w = 0
		}
		s.PowerW = w
		if !at.Before(end) {
			return s
		}
		stop := minTime(sess.Depart, end)
		if w > 0 {
			left := sess.WantWh - s.DeliveredWh
			if full := at.Add(hours(float64(left) / float64(w))); full.Before(stop) {
				s.DeliveredWh, at = sess.WantWh, full
				continue
			}
		}
		s.DeliveredWh = min(s.DeliveredWh+gridmesh.Wh(float64(w)*stop.Sub(at).Hours()), sess.WantWh)
		at = stop
	}
}

// Reading is the charger as its driver reports it in state s at t (s must
// describe t: a state from Step ending at t).
func (p ChargerParams) Reading(s EVState, t time.Time) gridmesh.ChargerState {
	c := gridmesh.ChargerState{MinW: p.MinW, MaxW: p.MaxW}
	sess, ok := p.SessionAt(t)
	if !ok || s.SessionMs != sess.Arrive.UnixMilli() {
		return c
	}
	c.Connected, c.PowerW = true, s.PowerW
	c.WantedWh = max(sess.WantWh-s.DeliveredWh, 0)
	c.DepartureMs = sess.Depart.UnixMilli()
	return c
}

// power is the charging power a command asks for with a car that wants
// energy: off, or within [MinW, MaxW].
func (p ChargerParams) power(cmd ChargerCommand) gridmesh.W {
	if !cmd.Manual {
		return p.MaxW
	}
	if !cmd.PowerW.Finite() || cmd.PowerW <= 0 {
		return 0
	}
	return cmd.PowerW.Clamp(p.MinW, p.MaxW)
}

// nextArrivalOrMidnight is the first instant after t at which a session
// may begin: the arrival of t's day if still ahead, else the next local
// midnight (where the next day's session is looked up).
func (p ChargerParams) nextArrivalOrMidnight(t time.Time) time.Time {
	y, m, d := t.Date()
	next := time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
	if s, ok := p.SessionOn(t); ok && s.Arrive.After(t) && s.Arrive.Before(next) {
		return s.Arrive
	}
	return next
}

// hours converts fractional hours to a duration.
func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
