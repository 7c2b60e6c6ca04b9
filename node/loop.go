package node

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	gmdevices "github.com/gridmesh/gridmesh/devices"
)

// loopRunner is the imperative shell around control.Loop. Its run
// goroutine owns loop and devs' use by the loop; nothing else touches
// loop.
type loopRunner struct {
	n     *Node
	loop  *control.Loop
	plans <-chan gridmesh.Plan
	devs  *devices // set in run before anything runs
	// island is what island mode applied to the devices (island.go).
	island islandState
	// planned is whether the last step followed a plan: a change is
	// logged, so an operator sees when and why a home fell back.
	planned bool
	// released is whether the last step left the devices to their own
	// control (the owner paused steering).
	released bool
}

// run wraps the home's devices in guards, runs them, and ticks the loop
// until ctx ends or a guard fails.
func (r *loopRunner) run(ctx context.Context) error {
	devs, err := newDevices(r.n.deps, guardConfig(r.n.cfg), r.n.log)
	if err != nil {
		return err
	}
	r.devs = devs
	r.n.stats.devices.Store(devs)
	eg, gctx := errgroup.WithContext(ctx)
	devs.run(gctx, eg)
	eg.Go(func() error { return r.tick(gctx) })
	eg.Go(func() error { r.releaseOnPause(gctx); return nil })
	err = eg.Wait()
	r.release(ctx)
	return err
}

// releaseTimeout bounds how long a stopping home waits for its devices to
// take back their own control. Why 5 s: a Modbus or MQTT write is well
// under a second on a healthy link; a device that does not answer in 5 s
// falls back on its own reversion timer (SunSpec) or last will (MQTT),
// and the process must not hang on it.
const releaseTimeout = 5 * time.Second

// release hands every device the home steers back to its own control
// (battery to its own mode, PV limit lifted, charger to its default)
// once the loop and the guards have stopped, so nothing steers it after
// the node is gone. It runs on every stop of the loop, whether the
// process ends or the loop failed.
func (r *loopRunner) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	d := r.n.deps
	if err := gmdevices.Release(ctx, d.Battery, d.PV, d.Charger, d.HeatPump, d.Loads); err != nil {
		r.n.log.Warn("devices not released; they fall back on their own reversion", "err", err)
		return
	}
	r.n.log.Info("devices released to their own control")
}

// tick ticks the loop every LoopPeriod and applies a plan the moment it
// arrives. It never waits on the network or on a device: the plan channel
// is only read, never awaited beyond the next tick, and devices are read
// and commanded through their guards, which never block.
func (r *loopRunner) tick(ctx context.Context) error {
	period := r.n.cfg.LoopPeriod
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	r.step(r.n.now())
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.n.rejoinCh:
			r.loop.Rejoin()
			r.step(r.n.now())
		case p := <-r.plans:
			now := r.n.now()
			if err := r.loop.Offer(p, now); err != nil {
				r.n.stats.refuse(err)
				continue
			}
			r.n.stats.plansAccepted.Add(1)
			r.step(now)
			r.n.planLog.applied(p, now, r.n.now()) // GET /plans (planlog.go)
			if r.n.deps.Observer != nil {
				r.n.deps.Observer.PlanApplied(r.n.cfg.Home, r.n.cfg.Neighborhood, p.Epoch, p.Target, now)
			}
		case scheduled := <-ticker.C:
			now := r.n.now()
			r.n.stats.loopTicks.Add(1)
			r.n.stats.lastTick.Store(time.Now().UnixNano())
			missed, late := control.MissedTicks(last, scheduled, now, period)
			r.n.stats.loopTicksMissed.Add(missed)
			storeMax(&r.n.stats.loopLate, int64(time.Since(scheduled))) // the telemetry's overload sign
			if late {
				r.n.log.Debug("loop tick late", "late", now.Sub(scheduled))
			}
			last = scheduled
			began := time.Now()
			r.step(now)
			r.n.tickDone(began) // metrics.go: tick duration, energy
		}
	}
}

// step runs one tick in four phases: read the battery and meter, decide
// (control.Sensed's rules and the Loop's step), command the battery and
// the other devices, and record the snapshot for telemetry and status. It
// skips the tick while the readings are unsettled (control.Sensed.Settled).
// A device that is unavailable (or not configured) is absent: with no
// battery the loop commands nothing; with no meter it cannot see the home,
// so it gives the battery no room and holds it at 0 W. Every failed device
// call is counted, in all and per device.
func (r *loopRunner) step(now time.Time) {
	sensed := r.readDevices()
	if !sensed.Settled() {
		r.n.stats.loopUnsettled.Add(1)
		return
	}
	reading := sensed.Reading()
	// The owner's settings (owner.go): the battery as the owner lets the
	// loop use it, whether to follow the plan, and what to offer.
	settings, own := r.n.ownerEffect(now)
	limited := reading
	limited.Battery = control.OwnerLimits(settings, reading.Battery, sensed.GridOK())
	var cmd control.Command
	if own.OwnAim {
		cmd = r.loop.StepOwn(limited, now)
	} else {
		cmd = r.loop.Step(limited, now)
	}
	cmd.BatteryW = sensed.BatteryCommand(cmd)
	snap := &loopSnapshot{
		At: now, Reading: reading, Command: cmd,
		BatteryOK: sensed.BatteryOK, MeterOK: sensed.MeterOK, GridOK: sensed.GridOK(),
		Owner: own, Offered: control.OwnerOffer(own, limited.Battery),
	}
	r.noteGrid(snap.GridOK)
	r.pauseTransition(own.Release)
	r.command(snap)
	r.record(snap)
}

// noteGrid records when the loop first saw the grid gone (Node.gridLost),
// and forgets it when the grid is back.
func (r *loopRunner) noteGrid(ok bool) {
	switch lost := r.n.gridLost.Load(); {
	case ok && lost != 0:
		r.n.gridLost.Store(0)
	case !ok && lost == 0:
		r.n.gridLost.Store(r.n.deviceNow().UnixNano())
	}
}

// pauseTransition asks the release goroutine to hand the devices back
// when the owner's pause begins, and logs when it begins and ends.
func (r *loopRunner) pauseTransition(release bool) {
	if release == r.released {
		return
	}
	r.released = release
	if !release {
		r.n.log.Info("steering resumed")
		return
	}
	r.n.log.Info("steering paused by the owner: devices released to their own control")
	select {
	case r.n.owner.releaseCh <- struct{}{}:
	default: // a release is pending
	}
}

// releaseOnPause hands the devices back to their own control each time
// the owner pauses steering, beside the loop (a release is device I/O,
// which the loop never waits on), until ctx ends.
func (r *loopRunner) releaseOnPause(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.n.owner.releaseCh:
		}
		r.release(ctx)
	}
}

// readDevices reads the battery and the meter, the loop's inputs, and
// when the battery took its last command.
func (r *loopRunner) readDevices() control.Sensed {
	d := r.devs
	var s control.Sensed
	if d.battery != nil {
		f, at, err := d.battery.Read()
		if s.BatteryOK = r.ok("battery", err); s.BatteryOK {
			s.Battery, s.BatteryAt = f, at
		}
	}
	if d.meter != nil {
		m, at, err := d.meter.Read()
		if s.MeterOK = r.ok("meter", err); s.MeterOK {
			s.Meter, s.MeterAt = m, at
		}
	}
	if s.BatteryOK {
		s.AppliedAt = d.battery.AppliedAt() // last: a command applied meanwhile makes the tick unsettled
	}
	return s
}

// command sends the battery snap's command, reads the devices the loop does
// not steer into snap, and lets island mode steer them (applyIsland).
func (r *loopRunner) command(snap *loopSnapshot) {
	d := r.devs
	if snap.BatteryOK && !snap.Owner.Release {
		if err := d.battery.SetBatteryPower(snap.Command.BatteryW); err != nil {
			r.ok("battery", err)
		}
	}
	if d.pv != nil {
		snap.PV = optional(r, "pv", d.pv.PV)
	}
	if d.charger != nil {
		snap.Charger = optional(r, "charger", d.charger.Charger)
	}
	if d.heatPump != nil {
		snap.HeatPump = optional(r, "heat_pump", d.heatPump.HeatPump)
	}
	if d.loads != nil {
		snap.Loads = optional(r, "loads", d.loads.Loads)
		snap.CanDisconnect = d.loads.CanDisconnectCritical()
	}
	if !snap.Owner.Release {
		r.applyIsland(snap)
	} else { // paused: the loads too are the owner's, lit as they were
		r.reconnect()
	}
	snap.Shed = r.island.shed
}

// record publishes snap with the plan the loop follows, and logs when
// the home starts or stops following plans.
func (r *loopRunner) record(snap *loopSnapshot) {
	if p, expires, ok := r.loop.Plan(); ok {
		snap.Plan, snap.PlanExpires, snap.HasPlan = p.Epoch, expires, true
		snap.PlanIssued = time.UnixMilli(p.IssuedAtMs)
		snap.Target, snap.Setpoints = p.Target, p.Setpoints
	}
	snap.EverPlanned = r.loop.Fence() != (gridmesh.Epoch{})
	snap.Base = r.loop.Base()
	r.n.stats.loop.Store(snap)
	if snap.HasPlan != r.planned {
		r.planned = snap.HasPlan
		if snap.HasPlan {
			r.n.log.Info("following the neighborhood's plans", "epoch", snap.Plan.String())
		} else {
			r.n.log.Info("no valid plan: self-consuming until the next one", "fence", r.loop.Fence().String())
		}
	}
}

// ok counts a failed device call and reports whether the call succeeded.
// A device whose guard has not finished its first call yet is absent but
// not failing (the loop's first tick runs as the guards start, before
// their first poll): that is not counted.
func (r *loopRunner) ok(kind string, err error) bool {
	if err == nil {
		return true
	}
	if r.devs.starting(kind) {
		return false
	}
	r.n.stats.deviceErrors.Add(1)
	r.devs.failed(kind)
	return false
}

// optional reads a device the loop does not steer: nil when unavailable.
func optional[R any](r *loopRunner, kind string, read func() (R, error)) *R {
	v, err := read()
	if !r.ok(kind, err) {
		return nil
	}
	return &v
}

// loopSnapshot is what the loop last did, published for telemetry and
// status. It is written whole and never modified after Store.
type loopSnapshot struct {
	At      time.Time
	Reading control.Reading
	Command control.Command
	// Base is the loop's estimate of the home's base load and where the
	// battery's power in it came from (reported, or modelled for a
	// battery that does not report its power).
	Base        control.BaseEstimate
	HasPlan     bool
	Plan        gridmesh.Epoch
	PlanExpires time.Time
	PlanIssued  time.Time
	Target      gridmesh.Target
	// Setpoints are the plan's, shared with it (never modified).
	Setpoints   []gridmesh.Setpoint
	EverPlanned bool
	// BatteryOK and MeterOK are false while that device is absent or
	// unavailable; Reading then holds no figures from it.
	BatteryOK, MeterOK bool
	// GridOK is false while the meter sees the grid gone (islanded or
	// dark); true without a meter reading.
	GridOK bool
	// Shed is what island mode has disconnected (island.go).
	Shed gridmesh.ShedFlags
	// Owner is what the owner's settings made the loop do; Offered is
	// the battery's flexibility as the home offers it to its neighborhood
	// (control.OwnerOffer).
	Owner   control.OwnerEffect
	Offered gridmesh.Flexibility
	// The devices the loop reads but does not steer yet; nil while absent
	// or unavailable.
	PV       *gridmesh.PVState
	Charger  *gridmesh.ChargerState
	HeatPump *gridmesh.HeatPumpState
	Loads    *gridmesh.LoadState
	// CanDisconnect: the loads can be disconnected whole (reported in
	// HomeLoads, so the leader leaves off only such homes).
	CanDisconnect bool
}

// baseW is the home's base load as its neighbors should plan with it: the
// loop's estimate once it has one (for a battery that does not report its
// power, the meter alone would count the battery's own work as load),
// else the meter less the battery's reading.
func (s *loopSnapshot) baseW() gridmesh.W {
	if s.Base.Valid {
		return s.Base.BaseW
	}
	return s.Reading.BaseW()
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
