package control

import (
	"errors"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

var ownerNow = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

func ms(d time.Duration) int64 { return ownerNow.Add(d).UnixMilli() }

func ptr[T any](v T) *T { return &v }

func TestApplyOwnerChange(t *testing.T) {
	bound := OwnerSettings{OptOutNext: true, OptOutEvent: "dr-1", OptOutStartMs: ms(time.Hour), OptOutEndMs: ms(2 * time.Hour)}
	tests := []struct {
		name    string
		from    OwnerSettings
		change  OwnerChange
		want    OwnerSettings
		invalid bool
	}{
		{"reserve", OwnerSettings{}, OwnerChange{ReservePct: ptr(30.0)}, OwnerSettings{ReservePct: 30}, false},
		{"reserve above 100", OwnerSettings{}, OwnerChange{ReservePct: ptr(101.0)}, OwnerSettings{}, true},
		{"reserve negative", OwnerSettings{}, OwnerChange{ReservePct: ptr(-1.0)}, OwnerSettings{}, true},
		{"opt out", OwnerSettings{}, OwnerChange{OptOutNext: ptr(true)}, OwnerSettings{OptOutNext: true}, false},
		{"opt out again keeps the bound event", bound, OwnerChange{OptOutNext: ptr(true)}, bound, false},
		{"opt back in forgets the event", bound, OwnerChange{OptOutNext: ptr(false)}, OwnerSettings{}, false},
		{"pause until resumed", OwnerSettings{}, OwnerChange{Paused: ptr(true)}, OwnerSettings{Paused: true}, false},
		{"pause for 2h", OwnerSettings{}, OwnerChange{Paused: ptr(true), PauseFor: "2h"},
			OwnerSettings{Paused: true, PauseUntilMs: ms(2 * time.Hour)}, false},
		{"resume", OwnerSettings{Paused: true, PauseUntilMs: ms(time.Hour)}, OwnerChange{Paused: ptr(false)}, OwnerSettings{}, false},
		{"pause_for without paused", OwnerSettings{}, OwnerChange{PauseFor: "2h"}, OwnerSettings{}, true},
		{"pause_for not a duration", OwnerSettings{}, OwnerChange{Paused: ptr(true), PauseFor: "soon"}, OwnerSettings{}, true},
		{"pause_for beyond a week", OwnerSettings{}, OwnerChange{Paused: ptr(true), PauseFor: "169h"}, OwnerSettings{}, true},
		{"nothing", bound, OwnerChange{}, bound, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyOwnerChange(tc.from, tc.change, ownerNow)
			if tc.invalid {
				if !errors.Is(err, gridmesh.ErrInvalid) {
					t.Fatalf("err %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestSettleOwner(t *testing.T) {
	events := []DemandEvent{
		{ID: "late", StartMs: ms(3 * time.Hour), EndMs: ms(4 * time.Hour)},
		{ID: "soon", StartMs: ms(time.Hour), EndMs: ms(2 * time.Hour)},
		{ID: "over", StartMs: ms(-2 * time.Hour), EndMs: ms(-time.Hour)},
	}
	inForce := DemandEvent{ID: "now", StartMs: ms(-time.Minute), EndMs: ms(time.Hour)}
	tests := []struct {
		name   string
		from   OwnerSettings
		events []DemandEvent
		want   OwnerSettings
	}{
		{"binds the next to start, not one ended", OwnerSettings{OptOutNext: true}, events,
			OwnerSettings{OptOutNext: true, OptOutEvent: "soon", OptOutStartMs: ms(time.Hour), OptOutEndMs: ms(2 * time.Hour)}},
		{"binds the one in force first", OwnerSettings{OptOutNext: true}, append([]DemandEvent{inForce}, events...),
			OwnerSettings{OptOutNext: true, OptOutEvent: "now", OptOutStartMs: inForce.StartMs, OptOutEndMs: inForce.EndMs}},
		{"waits while no event is known", OwnerSettings{OptOutNext: true}, nil, OwnerSettings{OptOutNext: true}},
		{"keeps its event when another comes sooner", OwnerSettings{OptOutNext: true, OptOutEvent: "late", OptOutStartMs: ms(3 * time.Hour), OptOutEndMs: ms(4 * time.Hour)},
			append([]DemandEvent{inForce}, events...),
			OwnerSettings{OptOutNext: true, OptOutEvent: "late", OptOutStartMs: ms(3 * time.Hour), OptOutEndMs: ms(4 * time.Hour)}},
		{"ends with its event", OwnerSettings{ReservePct: 20, OptOutNext: true, OptOutEvent: "over", OptOutStartMs: ms(-2 * time.Hour), OptOutEndMs: ms(-time.Hour)},
			events, OwnerSettings{ReservePct: 20}},
		{"a timed pause ends", OwnerSettings{Paused: true, PauseUntilMs: ms(0)}, nil, OwnerSettings{}},
		{"a timed pause runs on", OwnerSettings{Paused: true, PauseUntilMs: ms(time.Millisecond)}, nil, OwnerSettings{Paused: true, PauseUntilMs: ms(time.Millisecond)}},
		{"a pause until resumed runs on", OwnerSettings{Paused: true}, nil, OwnerSettings{Paused: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SettleOwner(tc.from, tc.events, ownerNow); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecideOwner(t *testing.T) {
	optedOut := OwnerSettings{OptOutNext: true, OptOutEvent: "dr", OptOutStartMs: ms(-time.Minute), OptOutEndMs: ms(time.Hour)}
	ahead := optedOut
	ahead.OptOutStartMs = ms(time.Minute)
	tests := []struct {
		name string
		s    OwnerSettings
		want OwnerEffect
	}{
		{"steered", OwnerSettings{ReservePct: 40}, OwnerEffect{}},
		{"paused", OwnerSettings{Paused: true}, OwnerEffect{Release: true, OwnAim: true, OfferNothing: true, Reason: "paused"}},
		{"paused until later", OwnerSettings{Paused: true, PauseUntilMs: ms(time.Second)}, OwnerEffect{Release: true, OwnAim: true, OfferNothing: true, Reason: "paused"}},
		{"pause over", OwnerSettings{Paused: true, PauseUntilMs: ms(0)}, OwnerEffect{}},
		{"opted out of the event in force", optedOut, OwnerEffect{OwnAim: true, OfferNothing: true, Reason: "opted_out"}},
		{"opted out of an event not begun", ahead, OwnerEffect{}},
		{"opted out, no event known", OwnerSettings{OptOutNext: true}, OwnerEffect{}},
		{"paused beats opted out", func() OwnerSettings { s := optedOut; s.Paused = true; return s }(),
			OwnerEffect{Release: true, OwnAim: true, OfferNothing: true, Reason: "paused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideOwner(tc.s, ownerNow); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestOwnerLimitsAndOffer(t *testing.T) {
	// A 10 kWh battery at 50 %, able to give its 5 kWh at 5 kW.
	half := gridmesh.Flexibility{PowerW: -1000, MinW: -5000, MaxW: 5000, SoC: 0.5, CapacityWh: 10000, ChargeWh: 5000, DischargeWh: 5000}
	tests := []struct {
		name    string
		s       OwnerSettings
		gridUp  bool
		effect  OwnerEffect
		limited gridmesh.Flexibility
		offered gridmesh.Flexibility
	}{
		{"no reserve", OwnerSettings{}, true, OwnerEffect{}, half, half},
		{"30 % reserve leaves 2 kWh", OwnerSettings{ReservePct: 30}, true, OwnerEffect{},
			with(half, func(f *gridmesh.Flexibility) { f.DischargeWh = 2000 }),
			with(half, func(f *gridmesh.Flexibility) { f.DischargeWh = 2000 })},
		{"reserve at the charge: no discharge", OwnerSettings{ReservePct: 50}, true, OwnerEffect{},
			with(half, func(f *gridmesh.Flexibility) { f.DischargeWh, f.MinW = 0, 0 }),
			with(half, func(f *gridmesh.Flexibility) { f.DischargeWh, f.MinW = 0, 0 })},
		{"reserve above the charge: no discharge", OwnerSettings{ReservePct: 80}, true, OwnerEffect{},
			with(half, func(f *gridmesh.Flexibility) { f.DischargeWh, f.MinW = 0, 0 }),
			with(half, func(f *gridmesh.Flexibility) { f.DischargeWh, f.MinW = 0, 0 })},
		{"islanded: the reserve is the home's", OwnerSettings{ReservePct: 80}, false, OwnerEffect{}, half, half},
		{"opted out: uses its battery, offers nothing", OwnerSettings{ReservePct: 30}, true, OwnerEffect{OwnAim: true, OfferNothing: true},
			with(half, func(f *gridmesh.Flexibility) { f.DischargeWh = 2000 }),
			with(half, func(f *gridmesh.Flexibility) { f.MinW, f.MaxW, f.ChargeWh, f.DischargeWh = 0, 0, 0, 0 })},
		{"paused: offers nothing", OwnerSettings{Paused: true}, true, OwnerEffect{Release: true, OwnAim: true, OfferNothing: true},
			half, with(half, func(f *gridmesh.Flexibility) { f.MinW, f.MaxW, f.ChargeWh, f.DischargeWh = 0, 0, 0, 0 })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := OwnerLimits(tc.s, half, tc.gridUp)
			if lim != tc.limited {
				t.Fatalf("limited %+v, want %+v", lim, tc.limited)
			}
			off := OwnerOffer(tc.effect, lim)
			if off != tc.offered {
				t.Fatalf("offered %+v, want %+v", off, tc.offered)
			}
			if err := off.Validate(); err != nil {
				t.Fatalf("offered flexibility invalid: %v", err)
			}
		})
	}
}

func with(f gridmesh.Flexibility, change func(*gridmesh.Flexibility)) gridmesh.Flexibility {
	change(&f)
	return f
}

// A home under a plan that would discharge its battery: the reserve stops
// the discharge, and StepOwn (an opted-out or paused home) self-consumes
// instead of following the setpoint.
func TestOwnerSettingsChangeTheLoopsCommand(t *testing.T) {
	cfg := LoopConfig{Home: "h1", Neighborhood: "n1"}
	plan := gridmesh.Plan{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 1, Index: 1},
		IssuedAtMs: ownerNow.UnixMilli(), LeaseMs: 3000,
		Setpoints: []gridmesh.Setpoint{{Home: "h1", NetW: -2000}}, // export 2 kW
	}
	// The home draws 500 W from the grid with the battery idle.
	r := Reading{NetW: 500, FrequencyHz: 50, Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, SoC: 0.5, CapacityWh: 10000, ChargeWh: 5000, DischargeWh: 5000}}
	tests := []struct {
		name  string
		s     OwnerSettings
		own   bool
		wantW gridmesh.W
	}{
		{"follows the plan", OwnerSettings{}, false, -2500},
		{"reserve above the charge: no discharge for the plan", OwnerSettings{ReservePct: 60}, false, 0},
		{"opted out: self-consumes", OwnerSettings{}, true, -500},
		{"opted out with a reserve it has reached: idle", OwnerSettings{ReservePct: 60}, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLoop(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Offer(plan, ownerNow); err != nil {
				t.Fatal(err)
			}
			in := r
			in.Battery = OwnerLimits(tc.s, r.Battery, true)
			step := l.Step
			if tc.own {
				step = l.StepOwn
			}
			c := step(in, ownerNow)
			if c.BatteryW != tc.wantW {
				t.Fatalf("battery %v W, want %v W (command %+v)", c.BatteryW, tc.wantW, c)
			}
			if _, _, ok := l.Plan(); !ok {
				t.Fatal("the plan was dropped: StepOwn must keep it (and its fence)")
			}
		})
	}
}
