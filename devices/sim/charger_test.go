package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// testCharger's car comes home every day between 18:00 and 19:00 and
// stays 12-13 h, wanting 10-20 kWh.
var testCharger = ChargerParams{
	MinW: 1_400, MaxW: 11_000, SessionChance: 1,
	ArriveHour: 18, ArriveSpanHours: 1, StayHours: 12, StaySpanHours: 1,
	WantMinWh: 10_000, WantSpanWh: 10_000, Seed: 3,
}

func TestChargerSessions(t *testing.T) {
	p := testCharger
	p.SessionChance = 0.7
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	days := 0
	for d := range 200 {
		s, ok := p.SessionOn(start.AddDate(0, 0, d).Add(5 * time.Hour))
		if !ok {
			continue
		}
		days++
		if again, _ := p.SessionOn(start.AddDate(0, 0, d).Add(23 * time.Hour)); again != s {
			t.Fatalf("day %d: session depends on the hour asked: %+v, %+v", d, s, again)
		}
		arr := hourOfDay(s.Arrive)
		stay := s.Depart.Sub(s.Arrive).Hours()
		if arr < 18 || arr >= 19 || stay < 12 || stay >= 13 || s.WantWh < 10_000 || s.WantWh >= 20_000 {
			t.Fatalf("day %d: session %+v outside its windows", d, s)
		}
		for _, at := range []time.Time{s.Arrive, s.Arrive.Add(time.Hour), s.Depart.Add(-time.Nanosecond)} {
			if got, ok := p.SessionAt(at); !ok || got != s {
				t.Fatalf("SessionAt(%v) = %+v, %v, want %+v", at, got, ok, s)
			}
		}
		if _, ok := p.SessionAt(s.Depart); ok {
			t.Fatalf("SessionAt(departure %v) still connected", s.Depart)
		}
		if _, ok := p.SessionAt(s.Arrive.Add(-time.Nanosecond)); ok {
			t.Fatalf("connected just before arrival %v", s.Arrive)
		}
	}
	if days < 110 || days > 170 {
		t.Errorf("%d sessions in 200 days at chance 0.7", days)
	}
}

func TestChargerDefaultChargesAtMax(t *testing.T) {
	p := testCharger
	day := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	sess, _ := p.SessionOn(day)
	s := p.Step(EVState{}, ChargerCommand{}, day, sess.Arrive.Sub(day)-time.Minute)
	if r := p.Reading(s, sess.Arrive.Add(-time.Minute)); r.Connected || r.PowerW != 0 || s.SessionMs != 0 {
		t.Fatalf("before arrival: %+v", r)
	}
	s = p.Step(s, ChargerCommand{}, sess.Arrive.Add(-time.Minute), 2*time.Minute)
	at := sess.Arrive.Add(time.Minute)
	r := p.Reading(s, at)
	if !r.Connected || r.PowerW != 11_000 || r.DepartureMs != sess.Depart.UnixMilli() || !near(float64(r.WantedWh), float64(sess.WantWh)-11_000.0/60, 1e-6) {
		t.Fatalf("a minute after arrival: %+v, session %+v", r, sess)
	}
	// Full after want/11 kW hours, then idle until departure.
	full := sess.Arrive.Add(hours(float64(sess.WantWh) / 11_000))
	s = p.Step(s, ChargerCommand{}, at, full.Sub(at)+time.Minute)
	if r := p.Reading(s, full.Add(time.Minute)); !r.Connected || r.PowerW != 0 || r.WantedWh != 0 || s.DeliveredWh != sess.WantWh {
		t.Fatalf("after filling: %+v, %+v", r, s)
	}
	s = p.Step(s, ChargerCommand{}, full.Add(time.Minute), sess.Depart.Sub(full))
	if r := p.Reading(s, sess.Depart.Add(time.Minute)); r.Connected || s != (EVState{}) {
		t.Fatalf("after departure: %+v, %+v", r, s)
	}
}

func TestChargerCommands(t *testing.T) {
	p := testCharger
	day := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	sess, _ := p.SessionOn(day)
	for _, tt := range []struct {
		cmd  ChargerCommand
		want gridmesh.W
	}{
		{ChargerCommand{}, 11_000},
		{ChargerCommand{Manual: true, PowerW: 5_000}, 5_000},
		{ChargerCommand{Manual: true, PowerW: 500}, 1_400},
		{ChargerCommand{Manual: true, PowerW: 50_000}, 11_000},
		{ChargerCommand{Manual: true, PowerW: 0}, 0},
		{ChargerCommand{Manual: true, PowerW: -3_000}, 0},
		{ChargerCommand{Manual: true, PowerW: gridmesh.W(math.NaN())}, 0},
	} {
		s := p.Step(EVState{}, tt.cmd, sess.Arrive, time.Hour)
		if s.PowerW != tt.want || !near(float64(s.DeliveredWh), float64(tt.want), 1e-6) {
			t.Errorf("%+v: %+v, want %v for an hour", tt.cmd, s, tt.want)
		}
	}
}

// TestChargerStepProperties drives a charger with random commands over
// random intervals through random days and checks that power stays off
// or in range, that energy follows power, that no session gets more than
// it wants, and that one long step equals many short ones.
func TestChargerStepProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for range iterations(20) {
		p := *RandomFullHome(rng).Charger
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		var s EVState
		cmd := ChargerCommand{}
		for range 300 {
			if rng.IntN(4) == 0 {
				cmd = ChargerCommand{Manual: true, PowerW: gridmesh.W(rng.Float64()*14_000 - 2_000)}
			}
			dt := time.Duration(rng.Int64N(int64(3 * time.Hour)))
			next := p.Step(s, cmd, at, dt)
			end := at.Add(dt)
			r := p.Reading(next, end)
			if w := next.PowerW; w != 0 && (w < p.MinW || w > p.MaxW) || !w.Finite() {
				t.Fatalf("seed %d: power %v", seed, w)
			}
			if !r.Connected && (next.PowerW != 0 || next.DeliveredWh != 0) {
				t.Fatalf("seed %d: disconnected at %v, state %+v", seed, end, next)
			}
			if sess, ok := p.SessionAt(end); ok && next.DeliveredWh > sess.WantWh {
				t.Fatalf("seed %d: delivered %v of %v wanted", seed, float64(next.DeliveredWh), float64(sess.WantWh))
			}
			if next.SessionMs == s.SessionMs && next.SessionMs != 0 {
				gain := float64(next.DeliveredWh - s.DeliveredWh)
				if gain < -1e-9 || gain > float64(p.MaxW)*dt.Hours()+1e-6 {
					t.Fatalf("seed %d: %v Wh in %v", seed, gain, dt)
				}
			}
			// The same interval in ten steps.
			fine := s
			for i := range 10 {
				fine = p.Step(fine, cmd, at.Add(dt*time.Duration(i)/10), dt*time.Duration(i+1)/10-dt*time.Duration(i)/10)
			}
			if fine.SessionMs != next.SessionMs || fine.PowerW != next.PowerW || !near(float64(fine.DeliveredWh), float64(next.DeliveredWh), 1e-6) {
				t.Fatalf("seed %d: one step %+v, ten steps %+v", seed, next, fine)
			}
			s, at = next, end
		}
	}
}

func TestChargerParamsValidate(t *testing.T) {
	if err := testCharger.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, mutate := range []func(*ChargerParams){
		func(p *ChargerParams) { p.MinW = 0 },
		func(p *ChargerParams) { p.MinW = 12_000 },
		func(p *ChargerParams) { p.MaxW = gridmesh.W(math.Inf(1)) },
		func(p *ChargerParams) { p.SessionChance = 1.5 },
		func(p *ChargerParams) { p.ArriveHour = -1 },
		func(p *ChargerParams) { p.ArriveHour = 23.5 },
		func(p *ChargerParams) { p.StayHours = 0 },
		func(p *ChargerParams) { p.StayHours = 22.5 },
		func(p *ChargerParams) { p.WantMinWh = -1 },
		func(p *ChargerParams) { p.WantSpanWh = gridmesh.Wh(math.NaN()) },
	} {
		p := testCharger
		mutate(&p)
		if p.Validate() == nil {
			t.Errorf("case %d: %+v validated", i, p)
		}
	}
}
