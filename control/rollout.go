package control

import (
	"math"

	"github.com/gridmesh/gridmesh"
)

// Choosing the plan by rollout. Rationing trades critical energy now
// for energy later: a home left off now saves energy for the night. On
// a shared feeder that trade can lose against the present-tick balancer
// in three ways (found on the property test's random feeders and listed
// in docs/BENCHMARKS.md): the pool counts energy held in batteries whose
// power cannot deliver it later (each battery's power, not the pool's,
// bounds what it gives); the last home lit takes the lit load over what
// the sources can give, and the feeder goes dark as a whole for that
// step; and energy kept for a night the PV would have refilled is
// energy the balancer served and the plan did not. Each is a question of
// the feeder's per-battery behaviour over the coming steps, which the
// pooled plan does not model. So RationIsland plays three policies
// forward over the same forecast with one deterministic feeder model
// (simulateFeeder): the plan with disconnects (PlanRation with
// DisconnectHomes), the plan without (classes only), and the balancer
// (BalanceIsland), and takes this step's decision from the one that
// serves the most critical energy (the most lit home-hours among
// those within rolloutTie of it; then in that order). When the model
// is exact (a forecast that comes true, per home), the resulting policy
// serves at least as much as each of the three from every state (the
// rollout argument for deterministic systems: the best of the three
// from the next state is at least the best from this one less what this
// step serves), so never less than the balancer. Energy served at a step
// counts as likely as the outage is to last until then
// (IslandForecast.StillOut, outlook.go): an expected value, which is the
// served energy itself when the outage's end is announced.

// HomeForecast is one home's forecast over the island's steps (as
// IslandForecast's): its loads and PV, and its battery's rated power
// each way and deliverable energy when full. IslandForecast.Homes
// carries them when the caller knows them per home; otherwise the
// rollout derives them from the present (homeForecastOf).
type HomeForecast struct {
	Home                                   gridmesh.HomeID
	CriticalW, PVW, EVW, HeatPumpW, OtherW []gridmesh.W
	// DischargeW and ChargeW are the battery's rated power each way.
	DischargeW, ChargeW gridmesh.W
	// FullWh is the battery's deliverable energy when full.
	FullWh gridmesh.Wh
}

// RationPolicy names the policy whose decision the island takes now.
type RationPolicy uint8

const (
	// PolicyClasses is the plan without disconnects (classes only).
	PolicyClasses RationPolicy = iota
	// PolicyDisconnect is the plan with disconnects.
	PolicyDisconnect
	// PolicyBalancer is BalanceIsland alone.
	PolicyBalancer
	numPolicies
)

// rolloutTie is the relative difference in served critical energy
// below which two policies count as serving the same, and lit
// home-hours decide: rounding in the sums, not energy (a relative 1e-9
// over a horizon of at most a few hundred steps stays far below a
// watt-hour a day).
const rolloutTie = 1e-9

// feederOutcome is what a policy serves over the forecast on the model.
type feederOutcome struct {
	servedWh, litHomeH float64
}

// simulateFeeder plays policy forward on the feeder model from the
// present homes hs (usable, sorted) over fc's steps (fc from
// presentForecast; homes its per-home rows, aligned with hs). The model:
// each step from the second, every home's loads and PV are its
// forecast's, its battery may discharge at most min(rated,
// held/step) and charge at most min(rated, room/step), room being
// (full − held)/round trip; the policy decides; a step whose decision
// leaves any critical load unserved is dark, as a shared feeder is
// (nothing served, no battery moves); otherwise the batteries move by
// their setpoints (charging x W adds x·step·round trip) and the served
// critical load counts, weighed by fc's StillOut at the step (as are
// the lit home-hours). Each setpoint's Shed is the next step's input.
func simulateFeeder(rcfg RationConfig, hs []IslandHome, fc IslandForecast, homes []HomeForecast, policy func(k int, hs []IslandHome) IslandResult) feederOutcome {
	stepH, rt := rcfg.Step.Hours(), rcfg.RoundTrip
	cur := append([]IslandHome(nil), hs...)
	var out feederOutcome
	for k := range fc.CriticalW {
		if k > 0 {
			for i := range cur {
				advanceHome(&cur[i], homes[i], k, stepH, rt)
			}
		}
		res := policy(k, cur)
		dark, w := res.Balance.UnservedW > 1e-9, fc.stillOut(k)
		if !dark {
			out.servedWh += float64(res.Balance.ServedCriticalW) * stepH * w
		}
		for i, sp := range res.Setpoints {
			cur[i].Shed = sp.Shed
			if dark {
				continue
			}
			if cur[i].CriticalW > 0 && !sp.Shed.Critical {
				out.litHomeH += stepH * w
			}
			b := &cur[i].Battery
			if sp.BatteryW < 0 {
				b.DischargeWh = max(b.DischargeWh+gridmesh.Wh(float64(sp.BatteryW)*stepH), 0)
			} else {
				b.DischargeWh = min(b.DischargeWh+gridmesh.Wh(float64(sp.BatteryW)*stepH*rt), homes[i].FullWh)
			}
		}
	}
	return out
}

// advanceHome sets h's loads, PV and battery limits for step k of f.
func advanceHome(h *IslandHome, f HomeForecast, k int, stepH, rt float64) {
	b := &h.Battery
	stored := float64(b.DischargeWh)
	b.ChargeWh = gridmesh.Wh((float64(f.FullWh) - stored) / rt)
	b.MinW = -gridmesh.W(min(float64(f.DischargeW), stored/stepH))
	b.MaxW = gridmesh.W(min(float64(f.ChargeW), float64(b.ChargeWh)/stepH))
	h.CriticalW, h.PVAvailableW, h.PVW = f.CriticalW[k], f.PVW[k], f.PVW[k]
	h.EVW, h.HeatPumpW, h.OtherW = f.EVW[k], f.HeatPumpW[k], f.OtherW[k]
}

// homeForecasts returns a forecast per home of hs (usable, sorted) over
// fc's n steps: fc.Homes' row for the home when it has one that long and
// finite, else homeForecastOf.
func homeForecasts(rcfg RationConfig, hs []IslandHome, fc IslandForecast) []HomeForecast {
	n := len(fc.CriticalW)
	byHome := make(map[gridmesh.HomeID]HomeForecast, len(fc.Homes))
	for _, f := range fc.Homes {
		if f.usable(n) {
			byHome[f.Home] = f
		}
	}
	var totalC, totalPV gridmesh.W
	for _, h := range hs {
		totalC, totalPV = totalC+h.CriticalW, totalPV+h.pvAvailable()
	}
	out := make([]HomeForecast, len(hs))
	for i, h := range hs {
		if f, ok := byHome[h.Home]; ok {
			out[i] = f
			continue
		}
		out[i] = homeForecastOf(rcfg, h, len(hs), totalC, totalPV, fc)
	}
	return out
}

// usable reports whether f has n steps of finite, non-negative figures.
func (f HomeForecast) usable(n int) bool {
	for _, row := range [][]gridmesh.W{f.CriticalW, f.PVW, f.EVW, f.HeatPumpW, f.OtherW} {
		if len(row) < n {
			return false
		}
		for _, w := range row[:n] {
			if !w.Finite() || w < 0 {
				return false
			}
		}
	}
	return f.DischargeW.Finite() && f.DischargeW >= 0 && f.ChargeW.Finite() && f.ChargeW >= 0 && f.FullWh.Finite() && f.FullWh >= 0
}

// homeForecastOf derives h's forecast from the present: its share of the
// island's critical load and of its PV now (an equal share when the
// island has none) of each step's forecast, its non-critical loads as
// they are now, its battery's rated power the larger of its limits now
// and its full energy what it holds plus what it can take.
func homeForecastOf(rcfg RationConfig, h IslandHome, n int, totalC, totalPV gridmesh.W, fc IslandForecast) HomeForecast {
	share := func(w, total gridmesh.W) float64 {
		if total > 0 {
			return float64(w / total)
		}
		return 1 / float64(n)
	}
	cs, ps := share(h.CriticalW, totalC), share(h.pvAvailable(), totalPV)
	steps := len(fc.CriticalW)
	f := HomeForecast{Home: h.Home,
		CriticalW: make([]gridmesh.W, steps), PVW: make([]gridmesh.W, steps),
		EVW: make([]gridmesh.W, steps), HeatPumpW: make([]gridmesh.W, steps), OtherW: make([]gridmesh.W, steps),
		FullWh: h.Battery.DischargeWh + gridmesh.Wh(float64(h.Battery.ChargeWh)*rcfg.RoundTrip),
	}
	f.DischargeW = max(-h.Battery.MinW, h.Battery.MaxW)
	f.ChargeW = f.DischargeW
	for k := range steps {
		f.CriticalW[k] = gridmesh.W(float64(fc.CriticalW[k]) * cs)
		f.PVW[k] = gridmesh.W(float64(fc.PVW[k]) * ps)
		f.EVW[k], f.HeatPumpW[k], f.OtherW[k] = h.EVW, h.HeatPumpW, h.OtherW
	}
	return f
}

// from is fc from step k on (its per-home rows too).
func (fc IslandForecast) from(k int) IslandForecast {
	out := IslandForecast{CriticalW: fc.CriticalW[k:], PVW: fc.PVW[k:]}
	if k < len(fc.StillOut) {
		out.StillOut = fc.StillOut[k:]
	}
	if k < len(fc.Guessed) {
		out.Guessed = fc.Guessed[k:]
	}
	if len(fc.Homes) > 0 {
		out.Homes = make([]HomeForecast, len(fc.Homes))
		for i, f := range fc.Homes {
			out.Homes[i] = f.from(k)
		}
	}
	return out
}

func (f HomeForecast) from(k int) HomeForecast {
	cut := func(ws []gridmesh.W) []gridmesh.W { return ws[min(k, len(ws)):] }
	f.CriticalW, f.PVW, f.EVW, f.HeatPumpW, f.OtherW = cut(f.CriticalW), cut(f.PVW), cut(f.EVW), cut(f.HeatPumpW), cut(f.OtherW)
	return f
}

// choosePolicy plays the three policies forward (see the top of this
// file) from hs (usable, sorted) over fc (from presentForecast, its
// Homes kept) and returns the one to follow now, with each one's
// served critical energy.
func choosePolicy(icfg IslandConfig, rcfg RationConfig, hs []IslandHome, fc IslandForecast) (RationPolicy, [numPolicies]gridmesh.Wh) {
	homes := homeForecasts(rcfg, hs, fc)
	model := fc
	model.Homes = homes
	classes := rcfg
	classes.DisconnectHomes = false
	policies := [numPolicies]func(k int, hs []IslandHome) IslandResult{
		PolicyClasses: func(k int, hs []IslandHome) IslandResult {
			res, _ := rationStep(icfg, classes, hs, model.from(k))
			return res
		},
		PolicyDisconnect: func(k int, hs []IslandHome) IslandResult {
			res, _ := rationStep(icfg, rcfg, hs, model.from(k))
			return res
		},
		PolicyBalancer: func(_ int, hs []IslandHome) IslandResult {
			res, _ := BalanceIsland(icfg, hs)
			return res
		},
	}
	var served [numPolicies]gridmesh.Wh
	var outcomes [numPolicies]feederOutcome
	best := PolicyClasses
	for p := range numPolicies {
		outcomes[p] = simulateFeeder(rcfg, hs, fc, homes, policies[p])
		served[p] = gridmesh.Wh(outcomes[p].servedWh)
		if outcomes[p].better(outcomes[best]) {
			best = p
		}
	}
	return best, served
}

// better reports whether o serves more critical energy than b, or as
// much (within rolloutTie) and more lit home-hours.
func (o feederOutcome) better(b feederOutcome) bool {
	tie := rolloutTie * (1 + math.Max(o.servedWh, b.servedWh))
	if math.Abs(o.servedWh-b.servedWh) > tie {
		return o.servedWh > b.servedWh
	}
	return o.litHomeH > b.litHomeH
}
