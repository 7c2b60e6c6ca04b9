package control_test

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/gridmesh/gridmesh/control"
)

func TestZZDebug(t *testing.T) {
	icfg := control.DefaultIslandConfig()
	rcfg := control.RationConfig{Step: 15 * 60e9, RestoreSteps: 4, RoundTrip: simRT, DisconnectHomes: true}
	rng := mrand.New(mrand.NewPCG(14, 2))
	var f feederRun
	for range 382 {
		f = randomFeeder(rng)
	}
	for i, h := range f.homes {
		fmt.Println("home", i, f.full[i], h.Battery.DischargeWh, h.Battery.MinW, h.Battery.MaxW)
	}
	var log []string
	f.simulate(t, true, func(s int, hs []control.IslandHome) control.IslandResult {
		res, _ := control.BalanceIsland(icfg, hs)
		log = append(log, fmt.Sprintf("%2d crit %v pv %v stored %.0f served %.0f un %.0f", s, f.crit[s], f.pv[s], hs[0].Battery.DischargeWh, res.Balance.ServedCriticalW, res.Balance.UnservedW))
		return res
	})
	f.simulate(t, true, func(s int, hs []control.IslandHome) control.IslandResult {
		res, plan, _ := control.RationIsland(icfg, rcfg, hs, f.forecastFrom(s))
		fmt.Printf("%s | R stored %.0f reserve %.0f off %v served %.0f un %.0f\n", log[s], hs[0].Battery.DischargeWh, plan.ReserveWh[0], plan.Disconnect, res.Balance.ServedCriticalW, res.Balance.UnservedW)
		return res
	})
}
