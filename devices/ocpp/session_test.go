package ocpp_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/guard"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

// TestSession steers a charger through a session, through the guard
// the node puts in front of every device, with a charge point that takes
// amperes only and meters current only: the home holds a power before a
// car comes; the car plugs in (Preparing), a transaction starts and the
// car charges at the home's power; the cap changes; the car leaves and
// the transaction stops; the home releases the charger.
func TestSession(t *testing.T) {
	cfg := testConfig()
	cfg.MinWriteInterval = 100 * time.Millisecond // the session's steps follow each other quickly
	drv := startDriver(t, cfg)
	g := runGuard(t, drv)
	ev := newCar()
	sc := simConfig()
	sc.RateUnits, sc.CurrentOnly = "Current", true
	cp := startSim(t, drv, sc, ev)

	// 7 kW is 10.1 A on three phases at 230 V, rounded down: 6969 W.
	must(t, g.SetChargePower(7_000))
	waitReading(t, g, "no car", gridmesh.ChargerState{MinW: 4140, MaxW: 11040})
	waitProfiles(t, cp, []profileSeen{{purpose: types.ChargingProfilePurposeTxDefaultProfile, limit: 10.1}})

	ev.plug(true)
	waitReading(t, g, "car charging at the home's power", gridmesh.ChargerState{Connected: true, PowerW: 6969, MinW: 4140, MaxW: 11040, WantedWh: cfg.SessionWh})
	tx := txOf(t, cp)
	waitProfiles(t, cp, []profileSeen{
		{purpose: types.ChargingProfilePurposeTxDefaultProfile, limit: 10.1},
		{purpose: types.ChargingProfilePurposeTxProfile, tx: tx, limit: 10.1},
	})

	must(t, g.SetChargePower(4_500)) // 6.5 A: 4485 W
	waitReading(t, g, "cap lowered", gridmesh.ChargerState{Connected: true, PowerW: 4485, MinW: 4140, MaxW: 11040, WantedWh: cfg.SessionWh})
	must(t, g.SetChargePower(1_000)) // under the least current: 6 A
	waitReading(t, g, "cap at the least current", gridmesh.ChargerState{Connected: true, PowerW: 4140, MinW: 4140, MaxW: 11040, WantedWh: cfg.SessionWh})

	ev.plug(false)
	waitReading(t, g, "car gone", gridmesh.ChargerState{MinW: 4140, MaxW: 11040})
	waitProfiles(t, cp, []profileSeen{
		{purpose: types.ChargingProfilePurposeTxDefaultProfile, limit: 10.1},
		{purpose: types.ChargingProfilePurposeTxProfile, tx: tx, limit: 10.1},
		{purpose: types.ChargingProfilePurposeTxProfile, tx: tx, limit: 6.5},
		{purpose: types.ChargingProfilePurposeTxProfile, tx: tx, limit: 6},
		{purpose: types.ChargingProfilePurposeTxDefaultProfile, limit: 6},
	})
	for _, r := range cp.Profiles() {
		p := r.Profile
		if p.ChargingSchedule.ChargingRateUnit != types.ChargingRateUnitAmperes || p.StackLevel != 1 || p.ValidTo == nil {
			t.Errorf("profile %+v: want amperes, stack level 1, a validTo", p)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, drv.Release(ctx))
	if cp.Clears() != 1 || drv.Stats().Releases != 1 {
		t.Errorf("release: charger got %d clears, driver counted %d releases; want 1, 1", cp.Clears(), drv.Stats().Releases)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// runGuard runs the node's guard over the driver, as the node would
// (its default timings), until the test ends.
func runGuard(t *testing.T, drv *ocppDriver) *guard.Charger {
	t.Helper()
	g, err := guard.NewCharger(drv, guard.DefaultConfig(), slog.New(slog.DiscardHandler))
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return g
}

// waitReading waits for the guard to read want (powers within 1 W).
func waitReading(t *testing.T, g *guard.Charger, what string, want gridmesh.ChargerState) {
	t.Helper()
	eventually(t, 5*time.Second, what, func() error {
		got, err := g.Charger()
		if err != nil {
			return err
		}
		if got.Connected != want.Connected || math.Abs(float64(got.PowerW-want.PowerW)) > 1 ||
			got.MinW != want.MinW || got.MaxW != want.MaxW || math.Abs(float64(got.WantedWh-want.WantedWh)) > 100 {
			return fmt.Errorf("read %+v, want %+v", got, want)
		}
		return nil
	})
}

// profileSeen is what a test checks of a profile received.
type profileSeen struct {
	purpose types.ChargingProfilePurposeType
	tx      int
	limit   float64
}

// waitProfiles waits until the charger has received exactly want.
func waitProfiles(t *testing.T, cp interface{ Profiles() []ocppsimReceived }, want []profileSeen) {
	t.Helper()
	eventually(t, 5*time.Second, "profiles received", func() error {
		var got []profileSeen
		for _, r := range cp.Profiles() {
			p := r.Profile
			got = append(got, profileSeen{p.ChargingProfilePurpose, p.TransactionId, p.ChargingSchedule.ChargingSchedulePeriod[0].Limit})
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("got %+v, want %+v", got, want)
		}
		return nil
	})
}

// txOf is the transaction the charger's TxProfiles name, once one came.
func txOf(t *testing.T, cp interface{ Profiles() []ocppsimReceived }) int {
	t.Helper()
	tx := 0
	eventually(t, 5*time.Second, "a TxProfile", func() error {
		for _, r := range cp.Profiles() {
			if r.Profile.TransactionId != 0 {
				tx = r.Profile.TransactionId
				return nil
			}
		}
		return fmt.Errorf("none among %d profiles", len(cp.Profiles()))
	})
	return tx
}
