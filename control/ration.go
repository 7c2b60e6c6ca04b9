package control

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// Rationing: an islanded neighborhood plans its stored energy over the
// hours it can forecast, not only the present tick. BalanceIsland's
// bands shed by how full the batteries are now; a winter night needs
// more than a fixed fraction, and a sunny morning less. RationIsland
// works out, from forecasts of the island's critical load and PV, the
// stored energy the critical load needs from each step to the horizon
// (CriticalReserve), and runs a non-critical class now only if the
// island, serving it, still holds that much after the next step (after
// RestoreSteps steps for a class it shed last time: the hysteresis that
// keeps a class from flapping). The power, surplus and deficit phases
// are BalanceIsland's. When the stored energy cannot carry every home's
// critical load until the PV returns, the plan leaves some homes' whole
// load off (disconnectHomes) rather than let the feeder go dark as a
// whole. The leader re-makes the plan every period from fresh
// telemetry: a receding horizon.
//
// Energies are in deliverable watt-hours, as a battery's DischargeWh:
// charging x Wh (ChargeWh's units) adds x·RoundTrip.

// RationConfig tunes RationIsland.
type RationConfig struct {
	// Step is the forecast's step.
	Step time.Duration
	// RestoreSteps: a class shed last time comes back only if the island
	// could run it this many steps and still hold the critical load's
	// reserve at each.
	RestoreSteps int
	// RoundTrip is the batteries' round-trip efficiency, in (0, 1].
	RoundTrip float64
	// DisconnectHomes lets the plan leave homes' critical load off when
	// the stored energy cannot carry every home to the horizon
	// (disconnectHomes).
	DisconnectHomes bool
	// LoadPrior has ForecastIsland forecast the steps its history has no
	// same-time sample for from a typical household's diurnal shape
	// scaled to the history's level (prior.go), not a guess.
	LoadPrior bool
}

// DefaultRationConfig steps a quarter hour (the forecast history's step),
// restores after an hour's look (four steps: a class that comes back runs
// at least about that long before the reserve claims it again) and
// counts a 90 % round trip (a lithium home battery's, inverter included),
// disconnects homes' critical load when the energy cannot carry all, and
// forecasts a young history's uncovered steps from the prior.
func DefaultRationConfig() RationConfig {
	return RationConfig{Step: HistoryStep, RestoreSteps: 4, RoundTrip: 0.9, DisconnectHomes: true, LoadPrior: true}
}

// DefaultRationHorizon is how far the leader plans when the outage's
// length is not announced: a day, so that whenever the grid goes the
// horizon reaches the next day's PV (twelve hours did not: an outage from
// 18:20 at 52° N in January waits more than fourteen hours for the sun,
// and the reserve left the last hours of the night out). Beyond the
// next day's PV the horizon adds little: what the sun refills, the
// reserve takes off (CriticalReserve).
const DefaultRationHorizon = 24 * time.Hour

// Validate checks the step, the restore look and the efficiency.
func (c RationConfig) Validate() error {
	switch {
	case c.Step <= 0:
		return fmt.Errorf("%w: ration step %v", ErrBadIslandConfig, c.Step)
	case c.RestoreSteps < 1 || c.RestoreSteps > maxForecastSteps:
		return fmt.Errorf("%w: restore steps %d outside [1, %d]", ErrBadIslandConfig, c.RestoreSteps, maxForecastSteps)
	case !(c.RoundTrip > 0 && c.RoundTrip <= 1):
		return fmt.Errorf("%w: round trip %v outside (0, 1]", ErrBadIslandConfig, c.RoundTrip)
	}
	return nil
}

// IslandForecast is the island's critical load and available PV, summed
// over its homes, for each Step from now to the horizon. The first step
// is taken from the homes' present figures instead, whatever it says.
type IslandForecast struct {
	CriticalW, PVW []gridmesh.W
	// Guessed marks the steps whose critical load is a guess, not a
	// history of the same time of day nor the prior scaled to the
	// history's level (ForecastIsland's fallback); nil: none. A guess
	// errs high on purpose, which suits shedding classes but not leaving
	// homes dark: no home is left off for energy on one.
	Guessed []bool
	// Homes are the homes' own forecasts over the same steps, when the
	// caller has them (nil: the rollout derives them from the present;
	// see choosePolicy).
	Homes []HomeForecast
	// StillOut is the probability that the outage still lasts at each
	// step (OutageOutlook.StillOut), by which the rollout weighs what a
	// policy serves then; nil: it lasts the whole horizon.
	StillOut []float64
}

// stillOut is the weight of step k (StillOut's, 1 beyond it or without
// one).
func (fc IslandForecast) stillOut(k int) float64 {
	if k < len(fc.StillOut) {
		if w := fc.StillOut[k]; w >= 0 && w <= 1 {
			return w
		}
		return 1
	}
	return 1
}

// maxGuessedShare is the share of a night's steps that may be guessed
// for energy to decide a disconnect: a quarter. The first minutes of an
// outage a day after a leader took over are guessed (its history starts
// then), and a city with every other step of the night known left its
// homes on until its batteries were empty.
const maxGuessedShare = 0.25

// guessed reports whether more than maxGuessedShare of fc's steps after
// the present one (which is measured) are guesses.
func (fc IslandForecast) guessed() bool {
	n := 0
	for t := 1; t < len(fc.Guessed); t++ {
		if fc.Guessed[t] {
			n++
		}
	}
	return float64(n) > maxGuessedShare*float64(max(len(fc.CriticalW)-1, 1))
}

// RationPlan is the rationing decision.
type RationPlan struct {
	// ReserveWh is the deliverable energy the critical load needs at the
	// start of each step, the horizon's end last (0): ReserveWh[0] is the
	// energy the island must keep now.
	ReserveWh []gridmesh.Wh
	// StoredWh is the island's deliverable energy now.
	StoredWh gridmesh.Wh
	// Serve says which classes run now (indexed as Shed: EV, heat pump,
	// other).
	Serve Shed
	// Disconnect are the homes, sorted, whose critical load the island
	// does not carry now (see disconnectHomes); none while the stored
	// energy covers every home's reserve until the PV returns.
	Disconnect []gridmesh.HomeID
	// Policy is the policy whose decision RationIsland took (see
	// choosePolicy), and ServedWh the critical energy each served on the
	// feeder model, weighed by the forecast's StillOut (expected energy);
	// PolicyClasses and zeros when disconnects are off.
	Policy   RationPolicy
	ServedWh [numPolicies]gridmesh.Wh
}

// pool is the island's batteries as one.
type pool struct {
	storedWh, fullWh          float64 // deliverable now, and when full
	chargeMaxW, dischargeMaxW float64
	roundTrip, stepH          float64
}

func poolOf(cfg RationConfig, hs []IslandHome) pool {
	p := pool{roundTrip: cfg.RoundTrip, stepH: cfg.Step.Hours()}
	for _, h := range hs {
		p.storedWh += float64(h.Battery.DischargeWh)
		p.fullWh += float64(h.Battery.DischargeWh) + float64(h.Battery.ChargeWh)*cfg.RoundTrip
		p.chargeMaxW += float64(h.Battery.MaxW)
		p.dischargeMaxW -= float64(h.Battery.MinW)
	}
	return p
}

// step is the pool's energy after one step at net load netW (load less
// PV), from storedWh.
func (p pool) step(storedWh, netW float64) float64 {
	if netW > 0 {
		return max(storedWh-min(netW, p.dischargeMaxW)*p.stepH, 0)
	}
	return min(storedWh+min(-netW, p.chargeMaxW)*p.stepH*p.roundTrip, p.fullWh)
}

// CriticalReserve returns, for each step of the forecast and its end, the
// least deliverable energy from which the pooled batteries carry the
// critical load to the horizon: backwards from 0 at the end, a step
// whose PV falls short adds its deficit (at most the batteries' power:
// beyond it storage cannot help), and a step with a surplus takes off
// what it can charge. A reserve never exceeds what the batteries hold
// when full.
func CriticalReserve(cfg RationConfig, hs []IslandHome, fc IslandForecast) []gridmesh.Wh {
	return poolOf(cfg, hs).reserve(fc)
}

// reserve is CriticalReserve for the pool.
func (p pool) reserve(fc IslandForecast) []gridmesh.Wh {
	n := len(fc.CriticalW)
	r := make([]gridmesh.Wh, n+1)
	next := 0.0
	for t := n - 1; t >= 0; t-- {
		net := float64(fc.CriticalW[t]) - float64(pvAt(fc, t))
		if net > 0 {
			next += min(net, p.dischargeMaxW) * p.stepH
		} else {
			next = max(next-min(-net, p.chargeMaxW)*p.stepH*p.roundTrip, 0)
		}
		next = min(next, p.fullWh)
		r[t] = gridmesh.Wh(next)
	}
	return r
}

func pvAt(fc IslandForecast, t int) gridmesh.W {
	if t < len(fc.PVW) {
		return fc.PVW[t]
	}
	return 0
}

// PlanRation decides which classes the island runs now (see the top of
// this file). Forecast powers that are not finite or are negative count
// as 0. The plan is a pure function of its inputs.
func PlanRation(cfg RationConfig, hs []IslandHome, fc IslandForecast) RationPlan {
	hs = usableIslandHomes(hs)
	fc = presentForecast(hs, fc)
	p := poolOf(cfg, hs)
	plan := RationPlan{ReserveWh: p.reserve(fc), StoredWh: gridmesh.Wh(p.storedWh)}
	if cfg.DisconnectHomes {
		night := untilPVReturns(fc)
		plan.Disconnect = disconnectHomes(p, hs, night, p.reserve(night)[0])
	}
	if len(plan.Disconnect) > 0 {
		return plan // no class runs while a home's critical load is off
	}
	var loads [numClasses]float64
	var ranBefore [numClasses]bool
	for _, h := range hs {
		for c, w := range h.demand() {
			loads[c] += float64(w)
			ranBefore[c] = ranBefore[c] || w > 0 && !h.Shed.array()[c]
		}
	}
	var serve [numClasses]bool
	extra := 0.0
	for c := numClasses - 1; c >= 0; c-- { // others first, EVs last
		look := 1
		if !ranBefore[c] {
			look = cfg.RestoreSteps
		}
		if !holdsReserve(p, fc, plan.ReserveWh, extra+loads[c], look) {
			break
		}
		serve[c] = true
		extra += loads[c]
	}
	plan.Serve = shedOf(serve)
	return plan
}

// disconnectHomes decides whose critical load the island leaves off now,
// over fc (the forecast until the PV returns, untilPVReturns). While the
// stored energy covers the reserve of every home's critical load over it
// (reserveWh), none. Otherwise the energy cannot carry every home until
// the PV returns, and a shared feeder that tried would go dark as a
// whole when it ran out, every home with it, and stay dark until its PV
// carried all of them again. So the island spends the energy where it
// lights the most home-hours: in the steps whose critical load is
// lightest (a winter night's small hours before its evening peak), as
// litNowW works out, and lights now as many homes as its share of the
// present step carries.
//
// Energy decides only on a forecast (the island's own history, or the
// prior scaled to it: ForecastIsland): with more than a quarter of the
// night's steps guessed (IslandForecast.Guessed) homes are left off for
// power alone. (A city whose leaders had two hours of history and a flat
// guess left two thirds of its homes off through a night its energy
// could carry.)
//
// The same holds for power: a lit load beyond what the PV and the
// batteries can give now would trip the whole feeder, so homes are left
// off too while every home's critical load exceeds that, and a home is
// lit only within it.
//
// Only homes whose loads can be disconnected (IslandHome.CanDisconnect)
// are left off: the others are lit whatever the plan, so they are
// counted first. Homes are taken in order, each lit while the homes lit
// so far draw less than the load to light (the last one lit may take it
// over by its own load) and within the power. The order: homes that
// cannot disconnect, then homes lit last time first (a
// plan does not swap one home for another), then by critical load, the
// smallest first (most homes lit for the energy), then by home. That
// order is the only hysteresis. Who is lit is not rotated within a step
// of the plan; across the night the steps are (every home dark in the
// evening peak, every home lit in the small hours, when the energy is
// short of both).
func disconnectHomes(p pool, hs []IslandHome, fc IslandForecast, reserveWh gridmesh.Wh) []gridmesh.HomeID {
	totalW, pvW := float64(fc.CriticalW[0]), float64(fc.PVW[0])
	powerW := pvW + p.dischargeMaxW
	energy := !fc.guessed() && p.storedWh < float64(reserveWh)
	if !energy && totalW <= powerW || totalW <= 0 {
		return nil
	}
	targetW := powerW
	if energy {
		targetW = min(targetW, litNowW(p, fc))
	}
	order := make([]int, len(hs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(compareBool(hs[a].CanDisconnect, hs[b].CanDisconnect), compareBool(hs[a].Shed.Critical, hs[b].Shed.Critical),
			cmp.Compare(hs[a].CriticalW, hs[b].CriticalW), cmp.Compare(hs[a].Home, hs[b].Home))
	})
	var off []gridmesh.HomeID
	litW := 0.0
	for _, i := range order {
		if w := litW + float64(hs[i].CriticalW); !hs[i].CanDisconnect || litW < targetW && w <= powerW || w == litW {
			litW = w
			continue
		}
		off = append(off, hs[i].Home)
	}
	slices.Sort(off)
	return off
}

// litNowW is the critical load to light now so that the pool's stored
// energy lights the most home-hours over fc (a night: no step's PV
// carries its critical load). In every step the PV lights what it can
// for nothing; beyond it a step costs its critical load per unit of the
// homes lit, so the energy goes to the lightest steps first (the earlier
// of equal ones: the present is the surest), each up to all of its homes
// or the batteries' power, until it runs out. The home-hours are the
// most a fractional plan lights; homes are whole, so the plan lights
// about that.
func litNowW(p pool, fc IslandForecast) float64 {
	n := len(fc.CriticalW)
	steps := make([]int, n)
	for t := range steps {
		steps[t] = t
	}
	slices.SortStableFunc(steps, func(a, b int) int { return cmp.Compare(fc.CriticalW[a], fc.CriticalW[b]) })
	budget := p.storedWh
	nowW := min(float64(fc.PVW[0]), float64(fc.CriticalW[0]))
	for _, t := range steps {
		c, pv := float64(fc.CriticalW[t]), float64(fc.PVW[t])
		if c <= 0 {
			continue
		}
		free := min(pv, c)
		wantW := min(c, pv+p.dischargeMaxW) - free
		gotW := min(wantW, budget/p.stepH)
		budget -= gotW * p.stepH
		if t == 0 {
			return free + gotW
		}
		if budget <= 0 {
			return nowW
		}
	}
	return nowW
}

// untilPVReturns is fc up to the first step after the present one whose
// PV carries the critical load: the stretch a disconnect decides over.
// Beyond it the PV refills what it can, and a home is not left dark now
// for energy a later evening may lack: that evening's own plan will
// leave homes off then, with a forecast made nearer to it.
func untilPVReturns(fc IslandForecast) IslandForecast {
	for t := 1; t < len(fc.CriticalW); t++ {
		if fc.PVW[t] >= fc.CriticalW[t] {
			return IslandForecast{CriticalW: fc.CriticalW[:t], PVW: fc.PVW[:t], Guessed: fc.Guessed[:min(t, len(fc.Guessed))]}
		}
	}
	return fc
}

// holdsReserve reports whether the pool, carrying extraW on top of the
// forecast for look steps, holds the reserve at the end of each.
func holdsReserve(p pool, fc IslandForecast, reserve []gridmesh.Wh, extraW float64, look int) bool {
	e := p.storedWh
	for t := 0; t < look && t < len(fc.CriticalW); t++ {
		e = p.step(e, float64(fc.CriticalW[t])+extraW-float64(pvAt(fc, t)))
		if e < float64(reserve[t+1]) {
			return false
		}
	}
	return e >= float64(reserve[min(look, len(fc.CriticalW))])
}

// presentForecast is fc with its powers cleaned and its first step the
// homes' present critical load and PV.
func presentForecast(hs []IslandHome, fc IslandForecast) IslandForecast {
	clean := func(ws []gridmesh.W) []gridmesh.W {
		out := make([]gridmesh.W, len(ws))
		for i, w := range ws {
			if w.Finite() && w > 0 {
				out[i] = min(w, gridmesh.MaxNeighborhoodPowerW)
			}
		}
		return out
	}
	out := IslandForecast{CriticalW: clean(fc.CriticalW), PVW: clean(fc.PVW), Guessed: fc.Guessed, Homes: fc.Homes, StillOut: fc.StillOut}
	if len(out.CriticalW) == 0 {
		out.CriticalW = make([]gridmesh.W, 1)
	}
	for len(out.PVW) < len(out.CriticalW) {
		out.PVW = append(out.PVW, 0)
	}
	out.PVW = out.PVW[:len(out.CriticalW)]
	if len(out.Guessed) > len(out.CriticalW) {
		out.Guessed = out.Guessed[:len(out.CriticalW)]
	}
	out.CriticalW[0], out.PVW[0] = 0, 0
	for _, h := range hs {
		out.CriticalW[0] += h.CriticalW
		out.PVW[0] += h.pvAvailable()
	}
	return out
}

// RationIsland balances an islanded neighborhood as BalanceIsland does,
// with PlanRation's classes added to the energy phase: a class the plan
// does not run is shed everywhere (and served only from PV no battery
// can take, as BalanceIsland serves shed loads), on top of what the bands
// shed. The plan only ever sheds more: run beyond the bands, a class
// spends energy on the batteries that can deliver it fastest, and the
// night's critical load then finds the energy left where the power is
// not (a random feeder showed it: the pooled reserve held, the critical
// load did not). With DisconnectHomes the plan may also leave homes off,
// and then the decision is the rollout's (choosePolicy, rollout.go): the
// plan with disconnects, the plan without them, or the balancer alone,
// whichever serves the most critical energy played forward on the feeder
// model. It fails only on an invalid config.
func RationIsland(icfg IslandConfig, rcfg RationConfig, homes []IslandHome, fc IslandForecast) (IslandResult, RationPlan, error) {
	if err := icfg.Validate(); err != nil {
		return IslandResult{}, RationPlan{}, err
	}
	if err := rcfg.Validate(); err != nil {
		return IslandResult{}, RationPlan{}, err
	}
	hs := usableIslandHomes(homes)
	ignored := len(homes) - len(hs)
	policy := PolicyClasses
	var served [numPolicies]gridmesh.Wh
	if rcfg.DisconnectHomes && len(hs) > 0 {
		policy, served = choosePolicy(icfg, rcfg, hs, presentForecast(hs, fc))
	}
	var res IslandResult
	var plan RationPlan
	switch policy {
	case PolicyBalancer:
		res, _ = BalanceIsland(icfg, hs)
		plan = PlanRation(rcfg, hs, fc)
		plan.Serve, plan.Disconnect = Shed{EV: true, HeatPump: true, Other: true}, nil
	case PolicyClasses:
		classes := rcfg
		classes.DisconnectHomes = false
		res, plan = rationStep(icfg, classes, hs, fc)
	default:
		res, plan = rationStep(icfg, rcfg, hs, fc)
	}
	res.Balance.Ignored += ignored
	plan.Policy, plan.ServedWh = policy, served
	return res, plan, nil
}

// rationStep is RationIsland's decision by the plan alone (rcfg's
// DisconnectHomes says whether it may leave homes off), on usable
// homes.
func rationStep(icfg IslandConfig, rcfg RationConfig, hs []IslandHome, fc IslandForecast) (IslandResult, RationPlan) {
	var res IslandResult
	plan := PlanRation(rcfg, hs, fc)
	if len(hs) == 0 {
		res.Balance.StoredFraction = 1
		return res, plan
	}
	lit, offW := withoutDisconnected(hs, plan.Disconnect)
	stored, free := islandStore(icfg, lit)
	res.Balance.StoredFraction = stored
	serve, band := plan.Serve.array(), bandShed(icfg, free)
	e := shedForEnergy(icfg, lit, func(c int, prev bool) bool { return !serve[c] || band(c, prev) })
	res = balanceAfterEnergy(icfg, lit, e, res)
	markDisconnected(&res, plan.Disconnect, offW)
	return res, plan
}

// withoutDisconnected is hs with the loads of the homes in off (sorted)
// taken away, critical included, and their critical load summed: their
// batteries and PV stay in the island.
func withoutDisconnected(hs []IslandHome, off []gridmesh.HomeID) ([]IslandHome, gridmesh.W) {
	if len(off) == 0 {
		return hs, 0
	}
	out := slices.Clone(hs)
	var offW gridmesh.W
	for i := range out {
		if _, found := slices.BinarySearch(off, out[i].Home); found {
			offW += out[i].CriticalW
			out[i].CriticalW, out[i].EVW, out[i].HeatPumpW, out[i].OtherW = 0, 0, 0, 0
		}
	}
	return out, offW
}

// markDisconnected sheds everything, critical load included, in the
// setpoints of the homes in off (sorted), and counts their critical load
// offW in the balance as disconnected.
func markDisconnected(res *IslandResult, off []gridmesh.HomeID, offW gridmesh.W) {
	for i, sp := range res.Setpoints {
		if _, found := slices.BinarySearch(off, sp.Home); found {
			res.Setpoints[i].Shed = Shed{EV: true, HeatPump: true, Other: true, Critical: true}
		}
	}
	res.Balance.CriticalW += offW
	res.Balance.DisconnectedW = offW
}

// RationSteps is how many forecast steps cover horizon (at least one, at
// most the forecast's bound).
func RationSteps(cfg RationConfig, horizon time.Duration) int {
	if cfg.Step <= 0 || horizon <= 0 {
		return 1
	}
	return min(max(int(math.Ceil(float64(horizon)/float64(cfg.Step))), 1), maxForecastSteps-1)
}

// DefaultClearness is the PV forecast's clearness before the history has
// any daylight sample: half the clear sky, about a northern European
// winter's mean, low rather than bright because a rationing plan that
// counts on too much sun sheds too little.
const DefaultClearness = 0.5

// rationHistoryDays is how many recent days the critical load forecast
// averages (as the reserve's forecast does).
const rationHistoryDays = 3

// ForecastIsland forecasts the island's critical load and PV from its
// history h (Load: the critical load, PV: the PV produced) for the
// horizon from now, in cfg's steps. The critical load at a time is its
// mean at that time on recent days; without such history, with
// cfg.LoadPrior and an hour of samples, the prior (prior.go: a
// household's diurnal shape at pv's place, north at 0° E without one,
// scaled to the history's level); otherwise it is the larger of the last
// sample and the mean of all (errs on the side of keeping energy), and
// Guessed. The PV is pv's clear-sky output times the clearness
// of h's PV samples (DefaultClearness without one) when pv has a peak;
// otherwise the PV at that time on recent days, or 0.
func ForecastIsland(h *ForecastHistory, pv PVModel, now time.Time, horizon time.Duration, cfg RationConfig) IslandForecast {
	n := RationSteps(cfg, horizon)
	var fallback, mean gridmesh.W
	k := 0
	for _, s := range h.Load {
		if s.W.Finite() {
			mean += s.W
			k++
		}
	}
	if k > 0 {
		fallback = max(mean/gridmesh.W(k), h.Load[len(h.Load)-1].W)
	}
	usePV := pv.Validate() == nil && pv.PeakW > 0
	clear, ok := pv.Clearness(h.PV)
	if !ok {
		clear = DefaultClearness
	}
	var lat, lon float64
	if pv.Validate() == nil {
		lat, lon = pv.LatitudeDeg, pv.LongitudeDeg
	}
	level, prior := priorLevel(h.Load, lat, lon)
	prior = prior && cfg.LoadPrior
	fc := IslandForecast{CriticalW: make([]gridmesh.W, n), PVW: make([]gridmesh.W, n)}
	for i := range n {
		t := now.Add(time.Duration(i) * cfg.Step)
		c, ok := ForecastLoad(h.Load, t, rationHistoryDays, cfg.Step)
		if !ok && prior {
			c, ok = level*gridmesh.W(priorShape(t, lat, lon)), true
		}
		if !ok {
			c = fallback
			if fc.Guessed == nil {
				fc.Guessed = make([]bool, n)
			}
			fc.Guessed[i] = true
		}
		fc.CriticalW[i] = c
		if usePV {
			fc.PVW[i] = pv.ForecastPV(t, clear)
		} else if p, ok := ForecastLoad(h.PV, t, rationHistoryDays, cfg.Step); ok {
			fc.PVW[i] = p
		}
	}
	return fc
}

// IslandSample is what the leader records of an island for the rationing
// forecast from its homes' reports: their critical load (what it would
// draw, whether disconnected or not) and the PV their arrays could
// produce (the larger of what they report available and what they
// produce: an island with full batteries curtails its PV, and a clearness
// taken from the curtailed output would forecast too little sun).
func IslandSample(reports []gridmesh.Telemetry) (criticalW, pvW gridmesh.W) {
	for _, t := range reports {
		if l := t.Loads; l != nil {
			criticalW += l.CriticalW
			pvW += max(l.PVAvailableW, l.PVW)
		}
	}
	return criticalW, pvW
}

// PlanRationedIsland is PlanIsland with rationing: it records the
// reports' critical load and PV in h at now (device time), and while the
// neighborhood is islanded balances it with RationIsland over horizon
// (DefaultRationHorizon when 0) on ForecastIsland's forecast, each step
// weighed by the outlook (OutageOutlook.StillOut).
func PlanRationedIsland(icfg IslandConfig, rcfg RationConfig, h *ForecastHistory, pv PVModel, now time.Time, horizon time.Duration, outlook OutageOutlook, reports []gridmesh.Telemetry) (setpoints []gridmesh.Setpoint, unservedW gridmesh.W, ok bool, err error) {
	criticalW, pvW := IslandSample(reports)
	h.Add(now, criticalW, pvW)
	if !Islanded(reports) {
		return nil, 0, false, nil
	}
	if horizon <= 0 {
		horizon = DefaultRationHorizon
	}
	fc := ForecastIsland(h, pv, now, horizon, rcfg)
	fc.StillOut = outlook.StillOut(rcfg.Step, len(fc.CriticalW))
	res, _, err := RationIsland(icfg, rcfg, IslandHomes(reports), fc)
	if err != nil {
		return nil, 0, true, err
	}
	return IslandSetpoints(res), res.Balance.UnservedW, true, nil
}

// ForecastHomeHistory is ForecastIsland for one home's own history
// (`gridmesh forecast`): load and PV samples in, the load and PV forecast
// from the last sample on, in cfg's steps over horizon. It is the
// forecast the island's rationing makes, on a home's figures.
func ForecastHomeHistory(load, pv []Sample, model PVModel, horizon time.Duration, cfg RationConfig) (from time.Time, fc IslandForecast, err error) {
	if len(load) == 0 || len(load) != len(pv) {
		return time.Time{}, fc, fmt.Errorf("%w: %d load and %d PV samples", ErrBadForecast, len(load), len(pv))
	}
	if err := cfg.Validate(); err != nil {
		return time.Time{}, fc, err
	}
	var h ForecastHistory
	for i := range load {
		h.Add(time.UnixMilli(load[i].AtMs), load[i].W, pv[i].W)
	}
	from = time.UnixMilli(load[len(load)-1].AtMs).Add(cfg.Step)
	return from, ForecastIsland(&h, model, from, horizon, cfg), nil
}

// ForecastSkill is a forecast's skill against persistence: 1 − RMSE of
// the forecast / RMSE of the persistence forecast, over the same actual
// values. 1 is perfect, 0 no better than persistence, negative worse. It
// is NaN when persistence is itself perfect or the lengths differ.
func ForecastSkill(actual, forecast, persistence []float64) float64 {
	if len(actual) != len(forecast) || len(actual) != len(persistence) || len(actual) == 0 {
		return math.NaN()
	}
	var f, p float64
	for i, a := range actual {
		f += (forecast[i] - a) * (forecast[i] - a)
		p += (persistence[i] - a) * (persistence[i] - a)
	}
	if p == 0 {
		return math.NaN()
	}
	return 1 - math.Sqrt(f/p)
}
