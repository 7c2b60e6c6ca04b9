package testnet

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The frequency-dip scenario steps the grid frequency every home's meter
// reads down to dipFrequencyHz and back, and times each home's primary
// (droop) response from its battery's delivered power.
const (
	// dipFrequencyHz is 0.5 Hz under the 50 Hz nominal: where the default
	// droop curve (control.DefaultDroopConfig, the shape of Dynamic
	// Containment) asks for the battery's whole discharge range. The
	// testnet may not import control, so it states the consequence here:
	// full response is the battery's MinW added to what it delivered
	// before the step, within its range.
	dipFrequencyHz = 49.5
	// nominalHz is where the frequency returns.
	nominalHz = 50.0
	// dipHold is how long the frequency stays low: thirty loop ticks,
	// enough to see the response reached and kept, short enough that a
	// short run keeps steady samples after it.
	dipHold = 3 * time.Second
	// dipSamplesPerTick: the probe reads every battery this often a loop
	// tick (every 5 ms at 100 ms), so a response time is an upper bound
	// at most that much late.
	dipSamplesPerTick = 20
	// dipResponseTicks is the bound the scenario holds every home to:
	// full droop response within two loop ticks of the step.
	dipResponseTicks = 2
	// Full response is reached within 2% of the droop response (10 W at
	// least) of its expected value, or beyond it: the base load drifts a
	// little in the fraction of a second measured.
	dipToleranceFraction = 0.02
	dipToleranceMinW     = 10
)

// frequencyDip runs the frequency-dip scenario's probe. start and stop are
// called by the run's goroutine; between them the probe's goroutine owns
// homes, which the run's goroutine reads again once stop returned.
type frequencyDip struct {
	loopPeriod time.Duration
	cancel     context.CancelFunc // nil while the probe is not running
	done       chan struct{}      // closed when the probe's goroutine returned
	homes      []*dipHome
	noRoom     int // homes whose battery could give nothing at the step
	errors     []string
}

// dipHome is one home's response to the step.
type dipHome struct {
	h      *home
	stepAt time.Time  // when its meter first read dipFrequencyHz
	wantW  gridmesh.W // the battery power of full response
	tolW   gridmesh.W
	// reachedAt is when its battery was first seen at full response; zero
	// until then. gone is true if the home was killed before it.
	reachedAt time.Time
	gone      bool
}

// frequencyDipEvents returns the scenario's events: the step down at
// Duration/4 and the return to nominal dipHold later. It sets r.dip.
func (r *run) frequencyDipEvents() []event {
	r.dip = &frequencyDip{loopPeriod: r.cfg.Node.LoopPeriod}
	at := r.cfg.Duration / 4
	return []event{
		{at: at, name: "frequency dip", do: func(ctx context.Context, now time.Time) { r.setFrequency(ctx, now, true) }},
		{at: at + dipHold, name: "frequency restored", do: func(ctx context.Context, now time.Time) { r.setFrequency(ctx, now, false) }},
	}
}

// setFrequency steps every live home's grid frequency down (low) or back
// to nominal, and keeps the feeders' tracking judgement out of the dip
// and the settle after it: the feeders leave their targets on purpose.
func (r *run) setFrequency(ctx context.Context, now time.Time, low bool) {
	for _, m := range r.meters {
		m.disturbed(now, low)
	}
	if !low {
		r.dip.stop()
	}
	for _, nb := range r.c.nbhds {
		for _, h := range nb.live() {
			if low {
				r.dip.step(h)
			} else if err := setGridFrequency(h, nominalHz); err != nil {
				r.errors = append(r.errors, err.Error())
			}
		}
	}
	if low {
		r.dip.start(ctx)
	}
}

// setGridFrequency sets the frequency h's meter reads, keeping the rest
// of its grid as it is.
func setGridFrequency(h *home, hz float64) error {
	g := h.dev.Snapshot().Grid
	g.FrequencyHz = hz
	if err := h.dev.Devices().Meter.SetGrid(g); err != nil {
		return fmt.Errorf("%s: set grid frequency: %w", h.id, err)
	}
	return nil
}

// step reads h's battery, steps its grid frequency down and starts timing
// its response.
func (d *frequencyDip) step(h *home) {
	flex, err := h.dev.Battery()
	if err != nil {
		d.errors = append(d.errors, fmt.Sprintf("%s: battery before the dip: %v", h.id, err))
		return
	}
	if err := setGridFrequency(h, dipFrequencyHz); err != nil {
		d.errors = append(d.errors, err.Error())
		return
	}
	droopW := flex.MinW // full response at dipFrequencyHz: see its doc
	if droopW == 0 {
		d.noRoom++ // at its floor: nothing to give, nothing to time
		return
	}
	d.homes = append(d.homes, &dipHome{
		h:      h,
		stepAt: time.Now(),
		wantW:  (flex.PowerW + droopW).Clamp(flex.MinW, flex.MaxW),
		tolW:   max(gridmesh.W(dipToleranceFraction*math.Abs(float64(droopW))), dipToleranceMinW),
	})
}

// start runs the probe's goroutine: it reads every pending home's battery
// dipSamplesPerTick times a loop tick until each reached full response
// or stop is called, or ctx ends.
func (d *frequencyDip) start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		tick := time.NewTicker(max(d.loopPeriod/dipSamplesPerTick, time.Millisecond))
		defer tick.Stop()
		for d.sample() {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// sample reads every pending home's battery once and reports whether any
// home is still pending.
func (d *frequencyDip) sample() bool {
	pending := false
	for _, dh := range d.homes {
		if !dh.reachedAt.IsZero() || dh.gone {
			continue
		}
		if !dh.h.alive.Load() {
			dh.gone = true
			continue
		}
		flex, err := dh.h.dev.Battery()
		now := time.Now()
		if err == nil && flex.PowerW <= dh.wantW+dh.tolW {
			dh.reachedAt = now
			continue
		}
		pending = true
	}
	return pending
}

// stop ends the probe and waits for its goroutine; safe on a nil or
// stopped probe.
func (d *frequencyDip) stop() {
	if d == nil || d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
	d.cancel = nil
}

// results returns the response times, how many homes were late (over
// dipResponseTicks loop ticks, or never), and what went wrong. Call it
// after stop.
func (d *frequencyDip) results() (Percentiles, int, []string) {
	if d == nil {
		return Percentiles{}, 0, nil
	}
	errs := slices.Clone(d.errors)
	var msAll []float64
	late := 0
	bound := dipResponseTicks * d.loopPeriod
	for _, dh := range d.homes {
		switch {
		case dh.gone:
		case dh.reachedAt.IsZero():
			late++
			errs = append(errs, fmt.Sprintf("%s: no full droop response during the dip (want %v)", dh.h.id, dh.wantW))
		default:
			took := dh.reachedAt.Sub(dh.stepAt)
			msAll = append(msAll, ms(took))
			if took > bound {
				late++
			}
		}
	}
	return percentiles(msAll), late, errs
}
