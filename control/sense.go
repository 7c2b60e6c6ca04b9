package control

import (
	"time"

	"github.com/gridmesh/gridmesh"
)

// Sensed is what the loop's runner read from its battery and meter on one
// tick, before it steps the Loop: the rules below turn it into the Loop's
// Reading, or say the tick is to be skipped.
type Sensed struct {
	// BatteryOK is whether the battery was read; Battery its reading,
	// taken at BatteryAt.
	BatteryOK bool
	Battery   gridmesh.Flexibility
	BatteryAt time.Time
	// MeterOK is whether the meter was read; Meter its reading, taken at
	// MeterAt.
	MeterOK bool
	Meter   gridmesh.MeterReading
	MeterAt time.Time
	// AppliedAt is when the battery took its last command (zero: none).
	AppliedAt time.Time
}

// Settled reports whether the tick may step the Loop. The Loop computes
// the home's base load as the meter less the battery's power, so both
// readings must show the same battery command: steering on a meter that
// already shows the last command and a battery reading that does not (or
// the reverse) makes the loop oscillate. Until both were taken after the
// battery took its last command the tick is unsettled and skipped (a
// runner whose device guards poll twice a tick loses a tick at most).
// Without both readings there is nothing to compare: settled.
//
// The rule stays with a loop that estimates the base load across steps:
// a battery that reports its power is believed on each step, which is
// exact only if the meter and the battery show the same command; and a
// battery whose power the loop models is credited with the meter's moves
// toward the last command, which a meter read before that command was
// taken cannot show.
func (s Sensed) Settled() bool {
	if !s.BatteryOK || !s.MeterOK {
		return true
	}
	return !s.BatteryAt.Before(s.AppliedAt) && !s.MeterAt.Before(s.AppliedAt)
}

// Reading is what the Loop is given. Without a meter the loop cannot see
// the home, so the battery gets no room (NoRoom): the loop holds it at
// 0 W.
func (s Sensed) Reading() Reading {
	if !s.MeterOK {
		return Reading{Battery: NoRoom(s.Battery)}
	}
	return Reading{NetW: s.Meter.NetW, FrequencyHz: s.Meter.FrequencyHz, Battery: s.Battery}
}

// GridOK is false while the meter sees the grid gone (islanded or dark);
// true without a meter reading.
func (s Sensed) GridOK() bool { return !s.MeterOK || s.Meter.GridOK }

// BatteryCommand is the battery power to send for the Loop's cmd: 0 on a
// dead bus (DeadBus: the inverter is disconnected), cmd.BatteryW
// otherwise.
func (s Sensed) BatteryCommand(cmd Command) gridmesh.W {
	if DeadBus(s.Meter, s.MeterOK) {
		return 0
	}
	return cmd.BatteryW
}

// NoRoom is the battery as the loop may use it without a meter: not at
// all. Its power range shrinks to 0 W, so the loop holds it idle, and its
// reported power is 0, so the home's base load is not guessed from it.
func NoRoom(f gridmesh.Flexibility) gridmesh.Flexibility {
	f.PowerW, f.MinW, f.MaxW = 0, 0, 0
	return f
}

// MissedTicks counts the ticks of a periodic loop missed at one tick: the
// ones its ticker dropped between the last scheduled tick (zero: none
// yet) and this one, plus this one if it started (now) more than a period
// after it was scheduled; late reports the latter. A gap between two
// scheduled ticks counts as dropped ticks only past 1.5 periods: half a
// period of slack absorbs the ticker's jitter without hiding a drop.
func MissedTicks(last, scheduled, now time.Time, period time.Duration) (missed uint64, late bool) {
	if !last.IsZero() {
		if gap := scheduled.Sub(last); gap > period*3/2 {
			missed += uint64(gap/period) - 1
		}
	}
	if now.Sub(scheduled) > period {
		missed++
		late = true
	}
	return missed, late
}
