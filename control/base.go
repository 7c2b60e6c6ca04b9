package control

import (
	"fmt"
	"math"

	"github.com/gridmesh/gridmesh"
)

// PowerSource says where the loop took the battery's power from on a step,
// to split the meter's net import into the home's base load and the
// battery's own power.
type PowerSource uint8

const (
	// PowerReported: the battery's reading. The base load is the meter
	// less that power, exact whatever the battery's ramp or delay, as
	// long as both were read at the same instant.
	PowerReported PowerSource = iota
	// PowerModelled: the battery reads exactly 0 W while it should be
	// delivering power (under a command, or still on its way from one),
	// as a battery that does not report its power always does and one
	// still reacting to a command does for a moment, or it has never
	// read other than 0 W. The loop then models the battery's power: the
	// model follows the meter's moves toward the command (the rest of a
	// move is the home's load), and creeps toward the command at
	// modelGain a step.
	PowerModelled
)

// String names the source.
func (s PowerSource) String() string {
	switch s {
	case PowerReported:
		return "reported"
	case PowerModelled:
		return "modelled"
	}
	return fmt.Sprintf("PowerSource(%d)", uint8(s))
}

// Tuned constants of the base-load observer.
const (
	// minModelW is the least power a battery that reports its power is
	// expected to show. Why 50 W: inverters idle below a few tens of
	// watts (a deadband), and a reading of 0 W under such a command
	// says nothing.
	minModelW = 50
	// modelGain is the share of the gap between the loop's command and
	// the modelled battery power that the model closes a step without
	// the meter showing it: the integrating part of the observer, which
	// finds a load change the battery's own move hid from the meter.
	// Why 0.05 (a 2 s time constant at 100 ms): the model must not
	// assume the battery moved before the meter shows it did, or the
	// command overshoots by what it assumed. At 0.05 a battery that
	// reacts 0.3 s late and ramps at 2 kW/s leaves 86 W of settled error
	// after 1.5 kW load steps, at 0.1 784 W, at 0.2 1.6 kW (settled: 2 s
	// after the step; docs/BENCHMARKS.md); a battery that answers at once
	// is exact at any gain, the meter showing its whole move.
	modelGain = 0.05
)

// BaseEstimate is the loop's view of its home's base load (what the home
// would import with its battery idle) after its last step.
type BaseEstimate struct {
	// BaseW is the base load the loop steered by.
	BaseW gridmesh.W
	// BatteryW is the battery power the loop took off the meter for it:
	// the reading, or the model's.
	BatteryW gridmesh.W
	// Source is where BatteryW came from.
	Source PowerSource
	// Valid is false until the loop has had a usable reading with room
	// to steer the battery.
	Valid bool
}

// baseObserver estimates the home's base load as the meter less the
// battery's power: the power the battery reports while it reports one,
// else a model of it. Its state is an estimate, not a command: a command
// held at the battery's limits cannot wind it up, and a new aim, a droop
// response or a change of source carries it over unchanged.
type baseObserver struct {
	est BaseEstimate
	// lastW is the loop's last command: the power the battery is under,
	// as far as the loop knows.
	lastW gridmesh.W
	// netW is the meter's last reading.
	netW gridmesh.W
	// reports is whether the battery has ever read other than 0 W: a
	// battery that has may be believed when it reads 0 W at rest; one
	// that has not is modelled even then.
	reports bool
}

// observe takes one usable reading and returns the base load to steer by.
// A battery with no room (MinW = MaxW = 0: no meter, or nothing it can
// do) tells nothing: the estimate is kept.
func (o *baseObserver) observe(r Reading) BaseEstimate {
	p := r.Battery.PowerW
	switch {
	case r.Battery.MinW == 0 && r.Battery.MaxW == 0 && o.est.Valid:
		return o.est
	case !o.est.Valid || p != 0 || o.reports && tooSmall(o.lastW) && tooSmall(o.est.BatteryW):
		o.reports = o.reports || p != 0
		o.est = BaseEstimate{BatteryW: p, Source: PowerReported, Valid: true}
	default:
		// A battery delivers nothing its range forbids: one that filled
		// up under a charging command reads 0 W and is at 0 W.
		o.est.BatteryW = o.model(r.NetW-o.netW).Clamp(r.Battery.MinW, r.Battery.MaxW)
		o.est.Source = PowerModelled
	}
	o.netW = r.NetW
	o.est.BaseW = r.NetW - o.est.BatteryW
	return o.est
}

// model moves the modelled battery power for a meter that moved by dNetW
// since the last step: the part of the move toward the command is the
// battery's (the rest is the home's load), then the model creeps
// modelGain of the remaining way to the command.
func (o *baseObserver) model(dNetW gridmesh.W) gridmesh.W {
	w := o.est.BatteryW
	if gap := o.lastW - w; dNetW*gap > 0 {
		w += gridmesh.W(math.Copysign(math.Min(math.Abs(float64(dNetW)), math.Abs(float64(gap))), float64(gap)))
	}
	return w + modelGain*(o.lastW-w)
}

// tooSmall reports whether a power is too small for a battery to show.
func tooSmall(w gridmesh.W) bool { return math.Abs(float64(w)) < minModelW }

// commanded records the command the loop returned.
func (o *baseObserver) commanded(w gridmesh.W) { o.lastW = w }
