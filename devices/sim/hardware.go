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

// driveAt is the command the battery's inverter follows at t, for a
// command want given at wantAt while it followed from (the drive then):
// from until wantAt+ReactionDelay, then toward want at RampWPerS. Pure.
func (hw BatteryHardware) driveAt(from, want gridmesh.W, wantAt, t time.Time) gridmesh.W {
	moving := t.Sub(wantAt) - hw.ReactionDelay
	if moving <= 0 {
		return from
	}
	if hw.RampWPerS == 0 {
		return want
	}
	step := hw.RampWPerS * gridmesh.W(moving.Seconds())
	if math.Abs(float64(want-from)) <= float64(step) {
		return want
	}
	if want > from {
		return from + step
	}
	return from - step
}

// rampStep is the time step the battery is integrated in while its drive
// moves: 100 ms, the loop's period, so a ramp's energy is off by under a
// tenth of a second of its change.
const rampStep = 100 * time.Millisecond
