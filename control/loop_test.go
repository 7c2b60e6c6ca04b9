package control

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestLoop(t *testing.T) *Loop {
	t.Helper()
	l, err := NewLoop(LoopConfig{Home: "me", Neighborhood: "nb"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// plan is a valid plan for neighborhood nb issued at issued with the given
// lease, setting "me" to meW.
func plan(term, index uint64, issued time.Time, lease time.Duration, meW gridmesh.W) gridmesh.Plan {
	return gridmesh.Plan{
		Version:      gridmesh.WireVersion,
		Neighborhood: "nb",
		Epoch:        gridmesh.Epoch{Term: term, Index: index},
		IssuedAtMs:   issued.UnixMilli(),
		LeaseMs:      uint32(lease / time.Millisecond),
		Setpoints:    []gridmesh.Setpoint{{Home: "another", NetW: -1_000}, {Home: "me", NetW: meW}},
	}
}

// idle is a reading of a home importing baseW with an idle ±5 kW battery.
func idle(baseW gridmesh.W) Reading {
	return Reading{NetW: baseW, Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: 5_000, SoC: 0.5}}
}

// moving is a reading of a home whose base load is baseW while its ±5 kW
// battery delivers batteryW, and says so.
func moving(baseW, batteryW gridmesh.W) Reading {
	r := idle(baseW + batteryW)
	r.Battery.PowerW = batteryW
	return r
}

func TestReadingBaseW(t *testing.T) {
	r := Reading{NetW: 700, Battery: gridmesh.Flexibility{PowerW: 500}}
	if got := r.BaseW(); got != 200 {
		t.Fatalf("BaseW() = %v, want 200W", got)
	}
}

// Each row is a home's first reading: its own loop, with no estimate yet.
func TestLoopAutonomousSelfConsumption(t *testing.T) {
	tests := []struct {
		name    string
		r       Reading
		want    gridmesh.W
		clamped bool
	}{
		{"deficit: discharge", idle(1_500), -1_500, false},
		{"surplus: charge", idle(-2_000), 2_000, false},
		{"balanced", idle(0), 0, false},
		{"battery already moving", Reading{NetW: 700, Battery: gridmesh.Flexibility{PowerW: 500, MinW: -5_000, MaxW: 5_000}}, -200, false},
		{"deficit beyond the limit", idle(7_000), -5_000, true},
		{"surplus with a full battery", Reading{NetW: -3_000, Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: 0}}, 0, true},
		{"deficit with an empty battery", Reading{NetW: 3_000, Battery: gridmesh.Flexibility{MinW: 0, MaxW: 5_000}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestLoop(t).Step(tt.r, t0)
			want := Command{BatteryW: tt.want, Mode: ModeAutonomous, Clamped: tt.clamped}
			if c != want {
				t.Errorf("Step = %+v, want %+v", c, want)
			}
		})
	}
}

func TestLoopFollowsPlan(t *testing.T) {
	l := newTestLoop(t)
	p := plan(1, 1, t0, 5*time.Second, 3_000)
	if err := l.Offer(p, t0); err != nil {
		t.Fatal(err)
	}
	c := l.Step(idle(1_000), t0.Add(time.Second))
	want := Command{BatteryW: 2_000, Mode: ModePlan, Epoch: p.Epoch, AimNetW: 3_000}
	if c != want {
		t.Fatalf("Step = %+v, want %+v", c, want)
	}
	// The battery delivers the 2 kW; the base load falls to -4 kW: 7 kW
	// to charge, beyond 5.
	c = l.Step(moving(-4_000, 2_000), t0.Add(2*time.Second))
	if c.BatteryW != 5_000 || !c.Clamped || c.Mode != ModePlan {
		t.Fatalf("Step = %+v, want 5000W clamped", c)
	}
	got, expiry, ok := l.Plan()
	if !ok || got.Epoch != p.Epoch || !expiry.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("Plan() = %v, %v, %v", got.Epoch, expiry, ok)
	}
}

func TestLoopLeaseExpiry(t *testing.T) {
	l := newTestLoop(t)
	if err := l.Offer(plan(1, 1, t0, 5*time.Second, 3_000), t0); err != nil {
		t.Fatal(err)
	}
	if c := l.Step(idle(1_000), t0.Add(5*time.Second-time.Millisecond)); c.Mode != ModePlan {
		t.Fatalf("just before expiry: %+v", c)
	}
	c := l.Step(moving(1_000, 2_000), t0.Add(5*time.Second))
	if want := (Command{BatteryW: -1_000, Mode: ModeAutonomous}); c != want {
		t.Fatalf("at expiry: %+v, want %+v", c, want)
	}
	if _, _, ok := l.Plan(); ok {
		t.Fatal("plan kept past its lease")
	}
	if f := l.Fence(); f != (gridmesh.Epoch{Term: 1, Index: 1}) {
		t.Fatalf("fence %v after expiry, want 1/1", f)
	}
	// The fence outlives the plan: the same plan cannot come back.
	if err := l.Offer(plan(1, 1, t0.Add(5*time.Second), 5*time.Second, 3_000), t0.Add(5*time.Second)); !errors.Is(err, ErrStalePlan) {
		t.Fatalf("replay after expiry: %v, want ErrStalePlan", err)
	}
}

func TestLoopFencing(t *testing.T) {
	l := newTestLoop(t)
	now := t0
	offer := func(term, index uint64) error {
		now = now.Add(100 * time.Millisecond)
		return l.Offer(plan(term, index, now, 5*time.Second, gridmesh.W(term*1000+index)), now)
	}
	steps := []struct {
		name      string
		term, idx uint64
		wantErr   error
		wantFence gridmesh.Epoch
	}{
		{"zero epoch (uncommitted)", 0, 0, ErrStalePlan, gridmesh.Epoch{}},
		{"first plan", 2, 10, nil, gridmesh.Epoch{Term: 2, Index: 10}},
		{"replay", 2, 10, ErrStalePlan, gridmesh.Epoch{Term: 2, Index: 10}},
		{"older index, same term", 2, 9, ErrStalePlan, gridmesh.Epoch{Term: 2, Index: 10}},
		{"older term, newer index (deposed leader)", 1, 50, ErrStalePlan, gridmesh.Epoch{Term: 2, Index: 10}},
		{"newer index, same term", 2, 11, nil, gridmesh.Epoch{Term: 2, Index: 11}},
		{"newer term, lower index", 3, 1, nil, gridmesh.Epoch{Term: 3, Index: 1}},
	}
	for _, s := range steps {
		err := offer(s.term, s.idx)
		if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: Offer = %v, want %v", s.name, err, s.wantErr)
		}
		if f := l.Fence(); f != s.wantFence {
			t.Fatalf("%s: fence %v, want %v", s.name, f, s.wantFence)
		}
		if c := l.Step(idle(0), now); s.wantFence != (gridmesh.Epoch{}) && (c.Epoch != s.wantFence || c.AimNetW != gridmesh.W(s.wantFence.Term*1000+s.wantFence.Index)) {
			t.Fatalf("%s: following %+v, want the plan of %v", s.name, c, s.wantFence)
		}
	}
}

// After Rejoin the fence is back at zero and the old cluster's plan is
// dropped: the home runs on its own until the new cluster's first plan,
// whatever that plan's epoch.
func TestLoopRejoin(t *testing.T) {
	l := newTestLoop(t)
	if err := l.Offer(plan(7, 300, t0, 5*time.Second, 500), t0); err != nil {
		t.Fatal(err)
	}
	l.Rejoin()
	if f := l.Fence(); f != (gridmesh.Epoch{}) {
		t.Fatalf("fence after Rejoin %v, want zero", f)
	}
	if _, _, ok := l.Plan(); ok {
		t.Fatal("still following the old cluster's plan after Rejoin")
	}
	if c := l.Step(idle(300), t0); c.Mode == ModePlan {
		t.Fatalf("after Rejoin the loop follows a plan: %+v", c)
	}
	now := t0.Add(time.Second)
	if err := l.Offer(plan(2, 5, now, 5*time.Second, 100), now); err != nil {
		t.Fatalf("the new cluster's first plan (older epoch) refused: %v", err)
	}
	if err := l.Offer(plan(7, 300, now, 5*time.Second, 500), now); err != nil {
		t.Fatalf("a newer plan refused: %v", err)
	}
}

func TestLoopLease(t *testing.T) {
	const lease = 5 * time.Second
	tests := []struct {
		name       string
		issued     time.Time
		wantErr    error
		wantExpiry time.Time
	}{
		{"issued now", t0, nil, t0.Add(lease)},
		{"issued 3 s ago: 2 s left", t0.Add(-3 * time.Second), nil, t0.Add(2 * time.Second)},
		{"expired on arrival", t0.Add(-10 * time.Second), ErrExpiredPlan, time.Time{}},
		{"expires as it arrives", t0.Add(-lease), ErrExpiredPlan, time.Time{}},
		{"leader clock an hour ahead cannot extend the lease", t0.Add(time.Hour), nil, t0.Add(lease)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLoop(t)
			err := l.Offer(plan(1, 1, tt.issued, lease, 0), t0)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Offer = %v, want %v", err, tt.wantErr)
			}
			_, expiry, ok := l.Plan()
			if ok != (tt.wantErr == nil) || !expiry.Equal(tt.wantExpiry) {
				t.Fatalf("Plan() expiry %v ok %v, want %v", expiry, ok, tt.wantExpiry)
			}
			if tt.wantErr != nil && l.Fence() != (gridmesh.Epoch{}) {
				t.Fatalf("refused plan moved the fence to %v", l.Fence())
			}
		})
	}
}

func TestLoopRefuses(t *testing.T) {
	l := newTestLoop(t)
	other := plan(1, 1, t0, time.Second, 0)
	other.Neighborhood = "elsewhere"
	if err := l.Offer(other, t0); !errors.Is(err, ErrWrongNeighborhood) {
		t.Errorf("other neighborhood: %v", err)
	}
	invalid := plan(1, 1, t0, time.Second, 0)
	invalid.Version = 0
	if err := l.Offer(invalid, t0); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("invalid plan: %v", err)
	}
	unsorted := plan(1, 1, t0, time.Second, 0)
	unsorted.Setpoints[0], unsorted.Setpoints[1] = unsorted.Setpoints[1], unsorted.Setpoints[0]
	if err := l.Offer(unsorted, t0); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("unsorted plan: %v", err)
	}
	if l.Fence() != (gridmesh.Epoch{}) {
		t.Errorf("refused plans moved the fence to %v", l.Fence())
	}
}

func TestLoopPlanWithoutThisHome(t *testing.T) {
	l := newTestLoop(t)
	if err := l.Offer(plan(1, 5, t0, time.Minute, 3_000), t0); err != nil {
		t.Fatal(err)
	}
	p := plan(2, 1, t0, time.Minute, 0)
	p.Setpoints = p.Setpoints[:1] // "another" only
	if err := l.Offer(p, t0); err != nil {
		t.Fatal(err)
	}
	c := l.Step(idle(800), t0.Add(time.Second))
	if want := (Command{BatteryW: -800, Mode: ModeAutonomous}); c != want {
		t.Fatalf("Step = %+v, want %+v", c, want)
	}
	if got, _, ok := l.Plan(); !ok || got.Epoch != p.Epoch || l.Fence() != p.Epoch {
		t.Fatalf("plan %v ok %v fence %v, want %v", got.Epoch, ok, l.Fence(), p.Epoch)
	}
	if err := l.Offer(plan(1, 6, t0, time.Minute, 3_000), t0); !errors.Is(err, ErrStalePlan) {
		t.Fatalf("older term after a plan without this home: %v", err)
	}
}

func TestLoopOwnsItsPlan(t *testing.T) {
	l := newTestLoop(t)
	p := plan(1, 1, t0, time.Minute, 3_000)
	if err := l.Offer(p, t0); err != nil {
		t.Fatal(err)
	}
	p.Setpoints[1].NetW = -9_999
	if c := l.Step(idle(0), t0); c.AimNetW != 3_000 {
		t.Fatalf("caller's edit reached the loop: %+v", c)
	}
	if got, _, _ := l.Plan(); got.Setpoints[1].NetW != 3_000 {
		t.Fatalf("caller's edit reached the loop's plan: %+v", got.Setpoints)
	}
}

func TestLoopUnusableReading(t *testing.T) {
	nan, inf := gridmesh.W(math.NaN()), gridmesh.W(math.Inf(1))
	for _, r := range []Reading{
		{NetW: nan, Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: 5_000}},
		{NetW: -inf, Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: 5_000}},
		{NetW: 100, Battery: gridmesh.Flexibility{PowerW: nan, MinW: -5_000, MaxW: 5_000}},
		{NetW: 100, Battery: gridmesh.Flexibility{MinW: -inf, MaxW: 5_000}},
		{NetW: 100, Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: nan}},
		{NetW: 100, Battery: gridmesh.Flexibility{MinW: 1_000, MaxW: 5_000}},
		{NetW: 100, Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: -1}},
		{NetW: 1e300, Battery: gridmesh.Flexibility{PowerW: -1e300, MinW: -5_000, MaxW: 5_000}},
	} {
		l := newTestLoop(t)
		if err := l.Offer(plan(1, 1, t0, time.Minute, 3_000), t0); err != nil {
			t.Fatal(err)
		}
		c := l.Step(r, t0)
		if want := (Command{Mode: ModePlan, Epoch: gridmesh.Epoch{Term: 1, Index: 1}, AimNetW: 3_000, Held: true}); c != want {
			t.Errorf("Step(%+v) = %+v, want %+v", r, c, want)
		}
	}
}

// TestLoopCommandWithinLimits steps a loop through random readings, plans
// and times: every command is finite and within the reported range.
func TestLoopCommandWithinLimits(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	l := newTestLoop(t)
	now := t0
	power := func(scale float64) gridmesh.W {
		switch rng.IntN(30) {
		case 0:
			return gridmesh.W(math.NaN())
		case 1:
			return gridmesh.W(math.Inf(1 - 2*rng.IntN(2)))
		}
		return gridmesh.W((rng.Float64()*2 - 1) * scale)
	}
	var term, index uint64 = 1, 0
	for i := range 20_000 {
		now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		if rng.IntN(20) == 0 {
			index++
			if rng.IntN(5) == 0 {
				term, index = term+1, 1
			}
			issued := now.Add(time.Duration(rng.IntN(4_000)-2_000) * time.Millisecond)
			_ = l.Offer(plan(term, index, issued, time.Duration(1+rng.IntN(3_000))*time.Millisecond, power(20_000)), now)
		}
		r := Reading{NetW: power(20_000), Battery: gridmesh.Flexibility{PowerW: power(6_000), MinW: -power(6_000).Clamp(0, 6_000), MaxW: power(6_000).Clamp(0, 6_000)}}
		r.FrequencyHz = 50 + float64(power(1)) // NaN and ±Inf now and then too
		c := l.Step(r, now)
		if !c.BatteryW.Finite() {
			t.Fatalf("seed %d step %d: %+v from %+v", seed, i, c, r)
		}
		if c.Held {
			if c.BatteryW != 0 {
				t.Fatalf("seed %d step %d: held at %v", seed, i, c.BatteryW)
			}
			continue
		}
		if c.BatteryW < r.Battery.MinW || c.BatteryW > r.Battery.MaxW {
			t.Fatalf("seed %d step %d: %v outside [%v, %v]", seed, i, c.BatteryW, r.Battery.MinW, r.Battery.MaxW)
		}
		if p, exp, ok := l.Plan(); ok && !now.Before(exp) || c.Mode == ModePlan && (!ok || c.Epoch != p.Epoch) {
			t.Fatalf("seed %d step %d: following %+v at %v, plan %v until %v (%v)", seed, i, c, now, p.Epoch, exp, ok)
		}
	}
}

func TestNewLoopValidates(t *testing.T) {
	for _, cfg := range []LoopConfig{{Home: "", Neighborhood: "nb"}, {Home: "me", Neighborhood: "n b"}} {
		if _, err := NewLoop(cfg); !errors.Is(err, gridmesh.ErrBadID) {
			t.Errorf("NewLoop(%+v) = %v, want ErrBadID", cfg, err)
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{ModeAutonomous: "autonomous", ModePlan: "plan", 7: "Mode(7)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", m, got, want)
		}
	}
}
