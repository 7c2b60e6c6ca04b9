package ocpp

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

var threePhase = electrical{phases: 3, voltageV: 230}

func TestUnitOf(t *testing.T) {
	for in, want := range map[string]rateUnit{
		"Current": types.ChargingRateUnitAmperes, "Power": types.ChargingRateUnitWatts,
		"Current,Power": types.ChargingRateUnitWatts, " current , power ": types.ChargingRateUnitWatts,
		"": types.ChargingRateUnitAmperes, "Volts": types.ChargingRateUnitAmperes,
	} {
		if got := unitOf(in); got != want {
			t.Errorf("unitOf(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestLimitOf(t *testing.T) {
	for _, tc := range []struct {
		w    gridmesh.W
		u    rateUnit
		e    electrical
		want float64
	}{
		{7_000, types.ChargingRateUnitWatts, threePhase, 7_000},
		{7_000.9, types.ChargingRateUnitWatts, threePhase, 7_000},
		{7_000, types.ChargingRateUnitAmperes, threePhase, 10.1}, // 10.14 A
		{4_140, types.ChargingRateUnitAmperes, threePhase, 6},    // exactly 6 A
		{3_680, types.ChargingRateUnitAmperes, electrical{phases: 1, voltageV: 230}, 16},
		{0, types.ChargingRateUnitAmperes, threePhase, 0},
	} {
		if got := limitOf(tc.w, tc.u, tc.e); got != tc.want {
			t.Errorf("limitOf(%v, %s, %+v) = %v, want %v", tc.w, tc.u, tc.e, got, tc.want)
		}
	}
}

func TestClamp(t *testing.T) {
	for _, tc := range []struct{ in, want gridmesh.W }{{-5, 0}, {0, 0}, {1, 4_140}, {5_000, 5_000}, {20_000, 11_040}} {
		if got := clamp(tc.in, 4_140, 11_040); got != tc.want {
			t.Errorf("clamp(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPlugOf(t *testing.T) {
	for st, want := range map[core.ChargePointStatus]plugState{
		core.ChargePointStatusAvailable:     {known: true},
		core.ChargePointStatusPreparing:     {plugged: true, known: true},
		core.ChargePointStatusCharging:      {plugged: true, charging: true, known: true},
		core.ChargePointStatusSuspendedEV:   {plugged: true, known: true},
		core.ChargePointStatusSuspendedEVSE: {plugged: true, known: true},
		core.ChargePointStatusFinishing:     {plugged: true, known: true},
		core.ChargePointStatusReserved:      {known: true},
		core.ChargePointStatusUnavailable:   {known: true},
		core.ChargePointStatusFaulted:       {known: true},
		"Exploded":                          {},
	} {
		if got := plugOf(st); got != want {
			t.Errorf("plugOf(%s) = %+v, want %+v", st, got, want)
		}
	}
}

func TestProfile(t *testing.T) {
	to := time.Date(2026, 1, 15, 12, 15, 0, 0, time.UTC)
	def := specFor(7_000, 0, types.ChargingRateUnitAmperes, threePhase, to).profile()
	if def.ChargingProfilePurpose != types.ChargingProfilePurposeTxDefaultProfile || def.ChargingProfileId != defaultProfileID || def.TransactionId != 0 {
		t.Errorf("no transaction: %+v, want a TxDefaultProfile", def)
	}
	tx := specFor(7_000, 42, types.ChargingRateUnitWatts, threePhase, to).profile()
	if tx.ChargingProfilePurpose != types.ChargingProfilePurposeTxProfile || tx.TransactionId != 42 || tx.ChargingProfileId != txProfileID {
		t.Errorf("transaction 42: %+v, want its TxProfile", tx)
	}
	for _, p := range []*types.ChargingProfile{def, tx} {
		s := p.ChargingSchedule
		if p.StackLevel != stackLevel || p.ChargingProfileKind != types.ChargingProfileKindRelative || !p.ValidTo.Equal(to) ||
			len(s.ChargingSchedulePeriod) != 1 || s.ChargingSchedulePeriod[0].StartPeriod != 0 || *s.ChargingSchedulePeriod[0].NumberPhases != 3 {
			t.Errorf("profile %+v (schedule %+v): want one relative period from 0 on 3 phases, valid to %v", p, s, to)
		}
		if err := types.Validate.Struct(p); err != nil {
			t.Errorf("profile not valid OCPP 1.6: %v", err)
		}
	}
}

func TestDecide(t *testing.T) {
	p := writePolicy{minInterval: time.Second, refresh: 5 * time.Minute, deadbandW: 300}
	t0 := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	held := func(w gridmesh.W, tx int) steer {
		s := specFor(w, tx, types.ChargingRateUnitWatts, threePhase, t0)
		return steer{want: w, wanted: true, sent: s, sentW: w, sentOK: true, sentAt: t0, lastWrite: t0}
	}
	target := func(st steer, tx int) profileSpec {
		return specFor(st.want, tx, types.ChargingRateUnitWatts, threePhase, t0)
	}
	with := func(s steer, f func(*steer)) steer { f(&s); return s }
	for _, tc := range []struct {
		name   string
		st     steer
		tx     int
		now    time.Time
		send   bool
		wakeAt time.Time
	}{
		{"nothing wanted", steer{}, 0, t0, false, time.Time{}},
		{"first setpoint", steer{want: 5_000, wanted: true}, 0, t0, true, time.Time{}},
		{"unchanged: until the refresh", held(5_000, 0), 0, t0.Add(time.Minute), false, t0.Add(5 * time.Minute)},
		{"refresh due", held(5_000, 0), 0, t0.Add(5 * time.Minute), true, time.Time{}},
		{"inside the deadband", with(held(5_000, 0), func(s *steer) { s.want = 5_200 }), 0, t0.Add(time.Minute), false, t0.Add(5 * time.Minute)},
		{"beyond the deadband", with(held(5_000, 0), func(s *steer) { s.want = 5_300 }), 0, t0.Add(time.Minute), true, time.Time{}},
		{"beyond, too soon", with(held(5_000, 0), func(s *steer) { s.want = 6_000 }), 0, t0.Add(100 * time.Millisecond), false, t0.Add(time.Second)},
		{"stop inside the deadband", with(held(200, 0), func(s *steer) { s.want = 0 }), 0, t0.Add(time.Minute), true, time.Time{}},
		{"a transaction began", held(5_000, 0), 7, t0.Add(time.Minute), true, time.Time{}},
		{"in flight", with(held(5_000, 0), func(s *steer) { s.want, s.inFlight = 9_000, true }), 0, t0.Add(time.Minute), false, time.Time{}},
		{"backing off", with(held(5_000, 0), func(s *steer) { s.sentOK, s.retryAt = false, t0.Add(3*time.Second) }), 0, t0.Add(2 * time.Second), false, t0.Add(3 * time.Second)},
		{"backoff over", with(held(5_000, 0), func(s *steer) { s.sentOK, s.retryAt = false, t0.Add(3*time.Second) }), 0, t0.Add(3 * time.Second), true, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			send, wake := p.decide(tc.st, target(tc.st, tc.tx), tc.now)
			if send != tc.send || !wake.Equal(tc.wakeAt) {
				t.Errorf("decide = %v, %v; want %v, %v", send, wake, tc.send, tc.wakeAt)
			}
		})
	}
}

func TestStation(t *testing.T) {
	cfg := DefaultConfig()
	var s station
	steps := []struct {
		name    string
		f       func(station) station
		waiting bool
		want    gridmesh.ChargerState
	}{
		{"connected", station.connect, true, gridmesh.ChargerState{}},
		{"status before boot", func(s station) station { return s.statusOf(core.ChargePointStatusAvailable) }, true, gridmesh.ChargerState{}},
		{"booted", station.boot, false, gridmesh.ChargerState{}},
		{"plugged", func(s station) station { return s.statusOf(core.ChargePointStatusPreparing) }, false, gridmesh.ChargerState{Connected: true, WantedWh: 30_000}},
		{"transaction", func(s station) station { return s.start(1, 1_000) }, false, gridmesh.ChargerState{Connected: true, WantedWh: 30_000}},
		{"charging", func(s station) station {
			return s.statusOf(core.ChargePointStatusCharging).meterOf(sample{powerW: 7_000, hasPower: true, energyWh: 6_000, hasEnergy: true})
		}, false, gridmesh.ChargerState{Connected: true, PowerW: 7_000, WantedWh: 25_000}},
		{"suspended by the profile", func(s station) station { return s.statusOf(core.ChargePointStatusSuspendedEVSE) }, false, gridmesh.ChargerState{Connected: true, WantedWh: 25_000}},
		{"network lost", station.disconnect, true, gridmesh.ChargerState{}},
		{"back, silent", station.connect, true, gridmesh.ChargerState{}},
		{"back, reporting", func(s station) station { return s.meterOf(sample{}) }, false, gridmesh.ChargerState{Connected: true, WantedWh: 25_000}},
		{"another stop", func(s station) station { return s.stop(9) }, false, gridmesh.ChargerState{Connected: true, WantedWh: 25_000}},
		{"stopped", func(s station) station { return s.stop(1).statusOf(core.ChargePointStatusAvailable) }, false, gridmesh.ChargerState{}},
	}
	minW, maxW := cfg.limits()
	for _, st := range steps {
		s = st.f(s)
		if w := s.waiting() != ""; w != st.waiting {
			t.Fatalf("%s: waiting %q, want waiting %v", st.name, s.waiting(), st.waiting)
		}
		if st.waiting {
			continue
		}
		want := st.want
		want.MinW, want.MaxW = minW, maxW
		if got := s.reading(cfg); got != want {
			t.Fatalf("%s: reading %+v, want %+v", st.name, got, want)
		}
	}
}
