package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// BatteryHardware is how a real battery answers a command beyond its
// physics: it reacts after a delay, moves at a limited ramp rate, reports
// its power with noise, or does not report it at all. The zero value is
// the ideal battery: every command in force at once, the power reported
// exactly.
type BatteryHardware struct {
	// RampWPerS is how fast the power moves toward a new command, in
	// watts a second; 0: at once. Home batteries ramp at 1-10 kW/s.
	RampWPerS gridmesh.W
	// ReactionDelay is how long after a command the battery starts to
	// move toward it (an inverter's command cycle, a gateway's queue).
	ReactionDelay time.Duration
	// NoiseW is the standard deviation of the noise on the power the
	// battery reports (its measurement); the power it delivers, and so
	// the meter, is unaffected. Seeded by NoiseSeed.
	NoiseW    gridmesh.W
	NoiseSeed uint64
	// HidesPower: the battery does not report its power; Battery reads
	// PowerW as 0 whatever it delivers (as a SunSpec battery without a
	// power point does). Snapshot's BatteryW stays the truth.
	HidesPower bool
}

// maxReactionDelay: a battery that answers a command a minute late is
// not one a 100 ms loop steers.
const maxReactionDelay = time.Minute

// Validate checks the figures.
func (hw BatteryHardware) Validate() error {
	if r := hw.RampWPerS; !r.Finite() || r < 0 {
		return fmt.Errorf("%w: battery ramp %v/s not a non-negative number", ErrInvalidParams, r)
	}
	if d := hw.ReactionDelay; d < 0 || d > maxReactionDelay {
		return fmt.Errorf("%w: battery reaction delay %v outside [0, %v]", ErrInvalidParams, d, maxReactionDelay)
	}
	if n := hw.NoiseW; !n.Finite() || n < 0 || n > gridmesh.MaxHomePowerW {
		return fmt.Errorf("%w: battery measurement noise %v outside [0, %v]", ErrInvalidParams, n, gridmesh.MaxHomePowerW)
	}
	return nil
}

// ideal reports whether every command is in force at once.
func (hw BatteryHardware) ideal() bool { return hw.RampWPerS == 0 && hw.ReactionDelay == 0 }

// timedCommand is a command and when it was given.
type timedCommand struct {
	w  gridmesh.W
	at time.Time
}

// target is the command the battery's inverter aims for at t: the newest
// of cmds (oldest first) given at least ReactionDelay before t, or ok
// false if none was. Pure.
func (hw BatteryHardware) target(cmds []timedCommand, t time.Time) (gridmesh.W, bool) {
	for i := len(cmds) - 1; i >= 0; i-- {
		if !cmds[i].at.Add(hw.ReactionDelay).After(t) {
			return cmds[i].w, true
		}
	}
	return 0, false
}

// ramp moves the drive from cur toward target over dt at RampWPerS (at
// once without a ramp). Pure.
func (hw BatteryHardware) ramp(cur, target gridmesh.W, dt time.Duration) gridmesh.W {
	step := hw.RampWPerS * gridmesh.W(dt.Seconds())
	if hw.RampWPerS == 0 || math.Abs(float64(target-cur)) <= float64(step) {
		return target
	}
	if target > cur {
		return cur + step
	}
	return cur - step
}

// prune drops the commands the battery no longer needs at t: all but the
// newest of those already in effect.
func (hw BatteryHardware) prune(cmds []timedCommand, t time.Time) []timedCommand {
	for len(cmds) > 1 && !cmds[1].at.Add(hw.ReactionDelay).After(t) {
		cmds = cmds[1:]
	}
	return cmds
}

// rampStep is the time step the battery is integrated in while its drive
// moves: 100 ms, the loop's period, so a ramp's energy is off by under a
// tenth of a second of its change.
const rampStep = 100 * time.Millisecond
