package control

import (
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the loop's property tests (0: from the clock)")

// testSeed is -seed, or the clock's; logged so a failure can be replayed.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed %d)", seed, seed)
	return seed
}

// plant is a home around the loop: a base load, and a battery that takes
// each command after a reaction delay, ramps toward it, reports its power
// with noise or not at all, and delivers within its range. The meter
// shows base + battery exactly.
type plant struct {
	baseW      gridmesh.W
	minW, maxW gridmesh.W
	rampWPerS  gridmesh.W // 0: at once
	delay      time.Duration
	noiseW     gridmesh.W
	hidden     bool
	powerW     gridmesh.W // delivered
	driveW     gridmesh.W // what the drive heads for
	cmds       []timedW
	rng        *rand.Rand
}

type timedW struct {
	w  gridmesh.W
	at time.Time
}

// plantStep is what the plant is integrated in: a ramp moves in 10 ms
// steps between two 100 ms ticks.
const plantStep = 10 * time.Millisecond

// command gives the battery w at t.
func (p *plant) command(w gridmesh.W, t time.Time) {
	p.cmds = append(p.cmds, timedW{w.Clamp(p.minW, p.maxW), t})
}

// advance runs the battery from t over d.
func (p *plant) advance(t time.Time, d time.Duration) {
	for end := t.Add(d); t.Before(end); t = t.Add(plantStep) {
		for len(p.cmds) > 0 && !p.cmds[0].at.Add(p.delay).After(t) {
			p.driveW, p.cmds = p.cmds[0].w, p.cmds[1:]
		}
		target := p.driveW.Clamp(p.minW, p.maxW)
		step := p.rampWPerS * gridmesh.W(plantStep.Seconds())
		switch {
		case p.rampWPerS == 0 || math.Abs(float64(target-p.powerW)) <= float64(step):
			p.powerW = target
		case target > p.powerW:
			p.powerW += step
		default:
			p.powerW -= step
		}
	}
}

// reading is what the loop reads at an instant.
func (p *plant) reading(hz float64) Reading {
	f := gridmesh.Flexibility{PowerW: p.powerW, MinW: p.minW, MaxW: p.maxW, SoC: 0.5}
	switch {
	case p.hidden:
		f.PowerW = 0
	case p.noiseW > 0:
		f.PowerW += gridmesh.W(p.rng.NormFloat64()) * p.noiseW
	}
	return Reading{NetW: p.baseW + p.powerW, FrequencyHz: hz, Battery: f}
}

// randomPlant draws a battery's manners: half hide their power, ramps of
// 1-10 kW/s or none, delays up to 0.3 s, noise up to 50 W on a reported
// power.
func randomPlant(rng *rand.Rand) *plant {
	p := &plant{rng: rng, hidden: rng.IntN(2) == 0}
	p.maxW = gridmesh.W(2_000 + rng.IntN(6_000))
	p.minW = -gridmesh.W(2_000 + rng.IntN(6_000))
	if rng.IntN(4) > 0 {
		p.rampWPerS = gridmesh.W(1_000 + rng.IntN(9_000))
	}
	p.delay = time.Duration(rng.IntN(4)) * 100 * time.Millisecond
	if !p.hidden && rng.IntN(2) == 0 {
		p.noiseW = gridmesh.W(rng.IntN(50))
	}
	p.baseW = gridmesh.W(rng.IntN(8_000) - 3_000)
	return p
}

// TestLoopConvergesProperty runs the loop on random batteries (hidden or
// reported power, ramps, delays, noise) through a disturbed phase
// (random load steps and drift, frequency excursions, a limit that
// closes and reopens, a plan), then a quiet one: every command is within
// the range read with it, and by the end of the quiet phase the meter
// is where the aim puts it (or the battery at the limit that stops it).
func TestLoopConvergesProperty(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 11))
	homes := 200
	if testing.Short() {
		homes = 30
	}
	const period = 100 * time.Millisecond
	for h := range homes {
		p := randomPlant(rng)
		l, err := NewLoop(LoopConfig{Home: "me", Neighborhood: "nb", InitialAimW: gridmesh.W(rng.IntN(2_000) - 1_000)})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		hz := 50.0
		fullMaxW := p.maxW
		var tail []gridmesh.W // |error| over the quiet phase's last second
		var aim gridmesh.W
		const disturbed, quiet = 300, 200
		for k := range disturbed + quiet {
			if k < disturbed {
				disturb(rng, p, l, &hz, fullMaxW, now, time.Duration(disturbed-k)*period)
			} else if k == disturbed {
				hz, p.maxW = 50, fullMaxW
			}
			r := p.reading(hz)
			c := l.Step(r, now)
			if !c.BatteryW.Finite() || c.BatteryW < r.Battery.MinW || c.BatteryW > r.Battery.MaxW {
				t.Fatalf("seed %d home %d tick %d: command %v outside [%v, %v]", seed, h, k, c.BatteryW, r.Battery.MinW, r.Battery.MaxW)
			}
			aim = c.AimNetW
			if k >= disturbed+quiet-10 {
				want := p.baseW + (aim-p.baseW).Clamp(p.minW, p.maxW)
				tail = append(tail, gridmesh.W(math.Abs(float64(r.NetW-want))))
			}
			p.command(c.BatteryW, now)
			p.advance(now, period)
			now = now.Add(period)
		}
		var mean gridmesh.W
		for _, e := range tail {
			mean += e / gridmesh.W(len(tail))
		}
		// A reported power's noise goes into the command and so onto the
		// meter: |N(0, σ)| is 0.8σ on average.
		if tol := 10 + 1.5*p.noiseW; mean > tol {
			t.Errorf("seed %d home %d (%+v): mean error %v over the last second, want under %v (aim %v)", seed, h, *p, mean, tol, aim)
		}
	}
}

// disturb changes one home's world at random on one tick of the
// disturbed phase.
// A plan's lease ends within left, the rest of the disturbed phase.
func disturb(rng *rand.Rand, p *plant, l *Loop, hz *float64, fullMaxW gridmesh.W, now time.Time, left time.Duration) {
	switch rng.IntN(40) {
	case 0: // an appliance
		p.baseW += gridmesh.W(rng.IntN(3_000) - 1_500)
	case 1: // a frequency excursion, or its end
		*hz = 50 + (rng.Float64()-0.5)*0.6
	case 2: // the battery fills, or has room again
		if p.maxW == 0 {
			p.maxW = fullMaxW
		} else {
			p.maxW = 0
		}
	case 3: // a plan for this home
		fence := l.Fence()
		lease := min(time.Duration(1+rng.IntN(20))*time.Second, left)
		pl := plan(fence.Term+1, 1, now, lease, gridmesh.W(rng.IntN(4_000)-2_000))
		_ = l.Offer(pl, now)
	}
	p.baseW += gridmesh.W(rng.NormFloat64() * 10) // drift
	p.baseW = p.baseW.Clamp(-gridmesh.MaxHomePowerW/2, gridmesh.MaxHomePowerW/2)
}

// The power source follows the readings: a battery that reads 0 W under a
// command is modelled, one that reads a power again is believed; the
// command does not move when the source changes and nothing else does.
func TestLoopPowerSource(t *testing.T) {
	l := newTestLoop(t)
	const baseW = 1_500
	now := t0
	step := func(netW, readW gridmesh.W) Command {
		now = now.Add(100 * time.Millisecond)
		r := Reading{NetW: netW, Battery: gridmesh.Flexibility{PowerW: readW, MinW: -5_000, MaxW: 5_000}}
		return l.Step(r, now)
	}
	for i, tc := range []struct {
		name        string
		netW, readW gridmesh.W
		want        gridmesh.W
		source      PowerSource
	}{
		{"first reading, battery idle", baseW, 0, -baseW, PowerReported},
		{"the battery delivers and says so", 0, -baseW, -baseW, PowerReported},
		{"it stops saying so: modelled, command kept", 0, 0, -baseW, PowerModelled},
		{"still hidden, still kept", 0, 0, -baseW, PowerModelled},
		{"a kettle: the meter moves away from the command, load", 2_000, 0, -baseW - 2_000, PowerModelled},
		{"the battery follows: the meter's move toward the command is the battery", 0, 0, -baseW - 2_000, PowerModelled},
		{"it reports again: believed, command kept", 0, -baseW - 2_000, -baseW - 2_000, PowerReported},
	} {
		c := step(tc.netW, tc.readW)
		if math.Abs(float64(c.BatteryW-tc.want)) > 1e-6 || c.PowerSource != tc.source {
			t.Fatalf("step %d, %s: %v from %v, want %v from %v", i, tc.name, c.BatteryW, c.PowerSource, tc.want, tc.source)
		}
		if est := l.Base(); !est.Valid || est.Source != tc.source {
			t.Fatalf("step %d, %s: estimate %+v", i, tc.name, est)
		}
	}
}

// A battery that never reads other than 0 W is modelled from its first
// command on, even at rest; an unusable reading or a battery with no
// room leaves the estimate as it was.
func TestLoopHiddenBattery(t *testing.T) {
	l := newTestLoop(t)
	now := t0
	step := func(r Reading) Command {
		now = now.Add(100 * time.Millisecond)
		return l.Step(r, now)
	}
	if c := step(idle(800)); c.BatteryW != -800 || c.PowerSource != PowerReported {
		t.Fatalf("first reading: %+v", c)
	}
	if c := step(idle(0)); c.BatteryW != -800 || c.PowerSource != PowerModelled {
		t.Fatalf("the battery delivered, the meter shows it: %+v", c)
	}
	if c := step(Reading{NetW: 0, Battery: NoRoom(idle(0).Battery)}); c.BatteryW != 0 || l.Base().BaseW != 800 {
		t.Fatalf("no room: %+v, estimate %+v", c, l.Base())
	}
	if c := step(Reading{NetW: gridmesh.W(math.NaN()), Battery: idle(0).Battery}); !c.Held || l.Base().BaseW != 800 {
		t.Fatalf("unusable: %+v, estimate %+v", c, l.Base())
	}
	// The battery, hidden, went idle under those two commands of 0 W
	// and follows each command from now on: the loop finds the base
	// load again.
	batteryW := gridmesh.W(0)
	var c Command
	for range 100 {
		c = step(Reading{NetW: 800 + batteryW, Battery: idle(0).Battery})
		batteryW = c.BatteryW
	}
	if math.Abs(float64(c.BatteryW+800)) > 1 || c.PowerSource != PowerModelled {
		t.Fatalf("after the battery was held at 0 W: %+v, estimate %+v", c, l.Base())
	}
}

// Before its first plan a home aims at its initial aim; once a plan has
// been followed, it self-consumes without one; after Rejoin it aims at
// the initial aim again until the new cluster's first plan.
func TestLoopInitialAim(t *testing.T) {
	l, err := NewLoop(LoopConfig{Home: "me", Neighborhood: "nb", InitialAimW: 200})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Step(idle(1_000), t0); c.AimNetW != 200 || c.BatteryW != -800 || c.Mode != ModeAutonomous {
		t.Fatalf("before the first plan: %+v", c)
	}
	if err := l.Offer(plan(1, 1, t0, time.Second, 500), t0); err != nil {
		t.Fatal(err)
	}
	if c := l.Step(moving(1_000, -800), t0.Add(100*time.Millisecond)); c.AimNetW != 500 || c.BatteryW != -500 {
		t.Fatalf("following the plan: %+v", c)
	}
	if c := l.Step(moving(1_000, -500), t0.Add(time.Second)); c.AimNetW != 0 || c.BatteryW != -1_000 || c.Mode != ModeAutonomous {
		t.Fatalf("the plan lapsed: %+v", c)
	}
	l.Rejoin()
	if c := l.Step(moving(1_000, -1_000), t0.Add(1100*time.Millisecond)); c.AimNetW != 200 || c.BatteryW != -800 {
		t.Fatalf("after Rejoin: %+v", c)
	}
	for _, w := range []gridmesh.W{gridmesh.W(math.NaN()), gridmesh.MaxHomePowerW + 1} {
		if _, err := NewLoop(LoopConfig{Home: "me", Neighborhood: "nb", InitialAimW: w}); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("initial aim %v: %v, want ErrInvalid", w, err)
		}
	}
}

// A battery that fills up while charging reads 0 W with no room left to
// charge: the model does not keep it charging, so the base load is the
// meter's, and a load that comes next is discharged for at once.
func TestLoopBatteryFillsUnderCommand(t *testing.T) {
	l := newTestLoop(t)
	surplus := Reading{NetW: 0, Battery: gridmesh.Flexibility{PowerW: 2_000, MinW: -5_000, MaxW: 5_000}} // base -2 kW
	if c := l.Step(surplus, t0); c.BatteryW != 2_000 {
		t.Fatalf("charging the surplus: %+v", c)
	}
	full := Reading{NetW: -2_000, Battery: gridmesh.Flexibility{MinW: -5_000}}
	if c := l.Step(full, t0.Add(100*time.Millisecond)); c.BatteryW != 0 || l.Base().BaseW != -2_000 {
		t.Fatalf("full: %+v, estimate %+v", c, l.Base())
	}
	evening := Reading{NetW: 1_000, Battery: gridmesh.Flexibility{MinW: -5_000}} // the sun sets: base +1 kW
	if c := l.Step(evening, t0.Add(200*time.Millisecond)); c.BatteryW != -1_000 {
		t.Fatalf("a load after filling up: %+v, estimate %+v", c, l.Base())
	}
}
