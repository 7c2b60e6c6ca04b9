package node

import (
	"context"
	"errors"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// loopRunner is the imperative shell around control.Loop. Its run
// goroutine owns loop; nothing else touches it.
type loopRunner struct {
	n     *Node
	loop  *control.Loop
	plans <-chan gridmesh.Plan
}

// run ticks the loop every LoopPeriod and applies a plan the moment it
// arrives. It never waits on the network: the plan channel is only read,
// never awaited beyond the next tick.
func (r *loopRunner) run(ctx context.Context) error {
	period := r.n.cfg.LoopPeriod
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	r.step(r.n.now())
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-r.plans:
			now := r.n.now()
			if err := r.loop.Offer(p, now); err != nil {
				r.n.stats.refuse(err)
				continue
			}
			r.n.stats.plansAccepted.Add(1)
			r.step(now)
			if r.n.deps.Observer != nil {
				r.n.deps.Observer.PlanApplied(r.n.cfg.Home, r.n.cfg.Neighborhood, p.Epoch, p.Target, now)
			}
		case scheduled := <-ticker.C:
			now := r.n.now()
			r.n.stats.loopTicks.Add(1)
			// A tick that starts more than one period late is missed; so
			// is every tick the ticker dropped while we were slow.
			late := now.Sub(scheduled) > period
			if !last.IsZero() {
				if gap := scheduled.Sub(last); gap > period*3/2 {
					r.n.stats.loopTicksMissed.Add(uint64(gap/period) - 1)
				}
			}
			if late {
				r.n.stats.loopTicksMissed.Add(1)
				r.n.log.Debug("loop tick late", "late", now.Sub(scheduled))
			}
			last = scheduled
			r.step(now)
		}
	}
}

// step reads the devices, steps the loop and commands the battery. A
// device error skips this tick's command (the battery keeps its last one)
// and is counted; the next tick tries again.
func (r *loopRunner) step(now time.Time) {
	flex, err := r.n.deps.Battery.Battery()
	if err != nil {
		r.n.stats.deviceErrors.Add(1)
		return
	}
	meter, err := r.n.deps.Meter.Meter()
	if err != nil {
		r.n.stats.deviceErrors.Add(1)
		return
	}
	reading := control.Reading{NetW: meter.NetW, Battery: flex}
	cmd := r.loop.Step(reading, now)
	if err := r.n.deps.Battery.SetBatteryPower(cmd.BatteryW); err != nil {
		r.n.stats.deviceErrors.Add(1)
	}
	snap := &loopSnapshot{At: now, Reading: reading, Command: cmd}
	if p, expires, ok := r.loop.Plan(); ok {
		snap.Plan, snap.PlanExpires, snap.HasPlan = p.Epoch, expires, true
		snap.Target = p.Target
	}
	snap.EverPlanned = r.loop.Fence() != (gridmesh.Epoch{})
	r.n.stats.loop.Store(snap)
}

// loopSnapshot is what the loop last did, published for telemetry and
// status. It is written whole and never modified after Store.
type loopSnapshot struct {
	At          time.Time
	Reading     control.Reading
	Command     control.Command
	HasPlan     bool
	Plan        gridmesh.Epoch
	PlanExpires time.Time
	Target      gridmesh.Target
	EverPlanned bool
}

// refuse counts a plan the loop refused, by reason.
func (s *stats) refuse(err error) {
	switch {
	case errors.Is(err, control.ErrStalePlan):
		s.plansStale.Add(1)
	case errors.Is(err, control.ErrExpiredPlan):
		s.plansExpired.Add(1)
	default:
		s.plansInvalid.Add(1)
	}
}
