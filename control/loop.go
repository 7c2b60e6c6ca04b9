package control

import (
	"fmt"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// LoopConfig identifies the home a Loop runs and the neighborhood whose
// plans it follows, and sets its primary frequency response.
type LoopConfig struct {
	// Home is this home: the loop follows its setpoint in a plan.
	Home gridmesh.HomeID
	// Neighborhood is this home's neighborhood: plans for any other are
	// refused.
	Neighborhood gridmesh.NeighborhoodID
	// Droop is the curve the battery answers grid frequency with; the
	// zero value means DefaultDroopConfig.
	Droop DroopConfig
	// InitialAimW is the net import the home aims for before its first
	// plan (a home file's target_w), and again after Rejoin until the new
	// cluster's first plan. 0 is self-consumption. Once a plan has been
	// accepted, a home without one self-consumes.
	InitialAimW gridmesh.W
}

// Validate checks both identifiers and, unless it is the zero value, the
// droop curve.
func (c LoopConfig) Validate() error {
	if err := c.Home.Validate(); err != nil {
		return fmt.Errorf("control: loop config: %w", err)
	}
	if err := c.Neighborhood.Validate(); err != nil {
		return fmt.Errorf("control: loop config: %w", err)
	}
	if c.Droop != (DroopConfig{}) {
		if err := c.Droop.Validate(); err != nil {
			return fmt.Errorf("control: loop config: %w", err)
		}
	}
	if w := c.InitialAimW; !w.Finite() || w < -gridmesh.MaxHomePowerW || w > gridmesh.MaxHomePowerW {
		return fmt.Errorf("control: loop config: initial aim %v outside ±%v: %w", w, gridmesh.MaxHomePowerW, gridmesh.ErrInvalid)
	}
	return nil
}

// Loop is a home's primary control loop: it follows the newest valid plan
// while its lease lasts and keeps the home on self-consumption otherwise,
// and answers grid frequency with droop either way.
// It is a pure state machine: no goroutines, no clock (every call takes
// now), no I/O. It is not safe for concurrent use; one goroutine owns it.
type Loop struct {
	cfg LoopConfig

	// fence is the epoch of the last plan accepted. It only moves forward
	// and outlives the plan itself.
	fence gridmesh.Epoch

	// The plan being followed, while hasPlan.
	hasPlan  bool
	plan     gridmesh.Plan
	expiry   time.Time
	setpoint gridmesh.Setpoint // this home's share of plan, if hasSP
	hasSP    bool

	// base estimates the home's base load across steps (base.go).
	base baseObserver
}

// NewLoop returns a loop with no plan and a zero fence: it runs
// autonomously until a plan is accepted.
func NewLoop(cfg LoopConfig) (*Loop, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Droop == (DroopConfig{}) {
		cfg.Droop = DefaultDroopConfig()
	}
	return &Loop{cfg: cfg}, nil
}

// Offer hands the loop a plan that arrived from the network at now. The
// plan is refused (and the loop unchanged) when it fails p.Validate, is
// for another neighborhood (ErrWrongNeighborhood), is not strictly newer
// than the fence (ErrStalePlan), or its lease has already run out
// (ErrExpiredPlan).
//
// The lease runs from min(issued, now), not from issued: a leader whose
// clock is ahead of this home's cannot stretch a lease into the future,
// and a home whose clock is behind cannot either.
//
// An accepted plan replaces the one being followed and advances the fence
// to its epoch, even if it has no setpoint for this home: the home then
// runs autonomously under that plan, and older plans stay refused.
func (l *Loop) Offer(p gridmesh.Plan, now time.Time) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("control: plan %v refused: %w", p.Epoch, err)
	}
	if p.Neighborhood != l.cfg.Neighborhood {
		return fmt.Errorf("%w: plan %v is for %q, this home is in %q", ErrWrongNeighborhood, p.Epoch, p.Neighborhood, l.cfg.Neighborhood)
	}
	if !p.Epoch.After(l.fence) {
		return fmt.Errorf("%w: epoch %v is not after %v", ErrStalePlan, p.Epoch, l.fence)
	}
	issued := time.UnixMilli(p.IssuedAtMs)
	expiry := issued
	if now.Before(issued) {
		expiry = now
	}
	expiry = expiry.Add(time.Duration(p.LeaseMs) * time.Millisecond)
	if !now.Before(expiry) {
		return fmt.Errorf("%w: plan %v expired at %v, now %v", ErrExpiredPlan, p.Epoch, expiry, now)
	}

	p.Setpoints = slices.Clone(p.Setpoints) // the loop owns what it follows
	l.fence = p.Epoch
	l.hasPlan, l.plan, l.expiry = true, p, expiry
	l.setpoint, l.hasSP = p.SetpointFor(l.cfg.Home)
	return nil
}

// Step decides the battery power for one period from a reading taken at
// now. It first drops the plan if its lease has run out (the fence
// stays). With a plan that has a setpoint for this home the battery aims
// for that net import; before the first plan it aims for
// LoopConfig.InitialAimW; otherwise for a net import of 0
// (self-consumption: it covers the deficit and absorbs the surplus). On
// top of either it answers the grid frequency along the droop curve:
//
//	DroopW   = Droop(cfg.Droop, r.FrequencyHz, r.Battery)
//	BatteryW = clamp(aim - baseW + DroopW, r.Battery.MinW, r.Battery.MaxW)
//
// baseW is the loop's estimate of the home's base load (Base, base.go):
// the meter less the battery's power. While the battery reports its
// power that is r.BaseW(), exact on the step whatever the battery's ramp
// or delay. A battery that reads exactly 0 W while it should be
// delivering power (under a command, or still on its way from one), or
// that has never read other than 0 W, is modelled
// (Command.PowerSource PowerModelled): the model takes the meter's moves
// toward the command as the battery's (the rest as the home's load) and
// closes a small share of the remaining gap each step, an integrating
// correction with a gain well below one that converges on batteries
// that ramp and lag without overshooting by what they have not shown
// yet. The estimate is the loop's only state across steps: a new aim, a
// droop response or a change of power source moves the command at once
// and leaves the estimate as it was (bumpless), and a command held at
// the battery's limits cannot wind it up (a battery is never modelled
// delivering beyond the range it reports).
//
// The droop response is complete on the tick that first reads the
// frequency, and it lasts: the base load excludes the battery's own
// power, so the net-point control does not see the response as load to
// cancel on the next tick.
//
// An unusable reading (see Command.Held) yields BatteryW 0, so a
// non-finite input never produces a non-finite command.
func (l *Loop) Step(r Reading, now time.Time) Command { return l.step(r, now, true) }

// StepOwn is Step with the plan's setpoint set aside: the home aims for
// what it aims for without one (self-consumption once it has followed a
// plan) whatever plan it holds. The plan still expires on time and the
// fence stays. A home whose owner paused steering or opted out of the
// event in force steps this way (DecideOwner).
func (l *Loop) StepOwn(r Reading, now time.Time) Command { return l.step(r, now, false) }

// step is Step, following the plan's setpoint only when follow is set.
func (l *Loop) step(r Reading, now time.Time, follow bool) Command {
	if l.hasPlan && !now.Before(l.expiry) {
		l.hasPlan, l.plan, l.expiry = false, gridmesh.Plan{}, time.Time{}
		l.setpoint, l.hasSP = gridmesh.Setpoint{}, false
	}
	c := Command{AimNetW: l.autonomousAim()}
	if follow && l.hasPlan && l.hasSP {
		c = Command{Mode: ModePlan, Epoch: l.plan.Epoch, AimNetW: l.setpoint.NetW}
	}
	if !r.usable() {
		c.Held = true
		l.base.commanded(0)
		return c
	}
	est := l.base.observe(r)
	c.PowerSource = est.Source
	c.DroopW = Droop(l.cfg.Droop, r.FrequencyHz, r.Battery)
	want := c.AimNetW - est.BaseW + c.DroopW
	c.BatteryW = want.Clamp(r.Battery.MinW, r.Battery.MaxW)
	c.Clamped = c.BatteryW != want
	l.base.commanded(c.BatteryW)
	return c
}

// autonomousAim is the net import aimed for without a setpoint: the
// initial aim until the first plan, 0 after.
func (l *Loop) autonomousAim() gridmesh.W {
	if l.fence == (gridmesh.Epoch{}) {
		return l.cfg.InitialAimW
	}
	return 0
}

// Base returns the loop's estimate of the home's base load after its last
// step, and where the battery's power came from.
func (l *Loop) Base() BaseEstimate { return l.base.est }

// Plan returns the plan being followed, when it expires and whether there
// is one, as of the last call to Offer or Step. The plan's Setpoints are
// the loop's own: do not modify them.
func (l *Loop) Plan() (gridmesh.Plan, time.Time, bool) {
	return l.plan, l.expiry, l.hasPlan
}

// Rejoin is called when the home has left its Raft cluster for another
// (the merge rule): epochs restart with the other cluster's log, so the
// fence goes back to zero, and the plan being followed, made by a group
// the home no longer follows, is dropped; the home runs on its own until
// the new cluster's first plan.
func (l *Loop) Rejoin() {
	l.fence = gridmesh.Epoch{}
	l.hasPlan, l.hasSP = false, false
	l.plan, l.setpoint, l.expiry = gridmesh.Plan{}, gridmesh.Setpoint{}, time.Time{}
}

// Fence returns the epoch of the last plan accepted; only plans with a
// strictly newer epoch are accepted from now on.
func (l *Loop) Fence() gridmesh.Epoch { return l.fence }
