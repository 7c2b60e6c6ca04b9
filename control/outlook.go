package control

import (
	"math"
	"time"
)

// The outage's outlook. A leader that does not know when the grid comes
// back must still decide whether energy spent now is worth more than
// energy kept for the night. Keeping it is right for a long outage and
// wrong for a short one: a plan that leaves homes dark through the
// evening for a night the grid's return makes moot has turned lights off
// for nothing. So, unless the outage's end is announced, the rollout
// (choosePolicy) weighs the critical energy each policy serves at a step
// by the probability that the outage still lasts then: energy now counts
// in full, energy in twelve hours as much as that outage is likely.
//
// The probability is a Lomax (Pareto type II) survival: heavy-tailed,
// as the outage figures are (the mean far above the typical), and the
// longer an outage has lasted, the longer it is likely to go on (a fault
// cleared in an hour is the common case; an outage still on after six
// hours is a storm's). Given it has lasted e, it lasts another t with
// probability ((s+e)/(s+e+t))^a. The shape a and scale s are fitted to
// the U.S. figures of EIA's Form 861 for 2017 (docs/BENCHMARKS.md, "The
// outage's outlook", gives the source): an interruption lasted about 2 h
// on average without major events (taken as the median: most
// interruptions are of that kind) and 7.8 h over 1.4 interruptions per
// customer with them, 5.6 h (the mean). A median of 2 h and a mean of
// 5.6 h give a = 1.7 and s = 3.9 h. Given 0 h the median remaining is
// 2 h; given 6 h, 5 h. A model fitted to two national figures, not to a
// feeder's record.

// OutageOutlook is what a leader knows of how long its island's outage
// lasts.
type OutageOutlook struct {
	// Announced is true when the outage's end is stated (an outage
	// warning's window) and the horizon ends there: every step counts in
	// full.
	Announced bool
	// Elapsed is how long the island has been on its own, in the
	// devices' time.
	Elapsed time.Duration
}

// outageShape and outageScale are the Lomax survival's parameters (see
// the top of this file).
const (
	outageShape = 1.7
	outageScale = 234 * time.Minute // 3.9 h
)

// StillOut returns, for n steps of step from now, the probability that
// the outage still lasts at the start of each (the first 1); nil when the
// outage's end is announced (every step 1).
func (o OutageOutlook) StillOut(step time.Duration, n int) []float64 {
	if o.Announced || n <= 0 {
		return nil
	}
	s := (outageScale + max(o.Elapsed, 0)).Hours()
	out := make([]float64, n)
	for k := range out {
		t := float64(k) * step.Hours()
		out[k] = math.Pow(s/(s+t), outageShape)
	}
	return out
}
