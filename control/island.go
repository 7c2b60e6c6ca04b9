package control

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gridmesh/gridmesh"
)

// ErrBadIslandConfig is wrapped by every island configuration error.
var ErrBadIslandConfig = errors.New("control: bad island config")

// LoadClass is a non-critical load's priority: the lowest class is shed
// first and restored last.
type LoadClass uint8

const (
	// ClassEV is EV charging: the largest load of a home and the most
	// deferrable (the car is rarely needed within the hour), shed first.
	ClassEV LoadClass = 1
	// ClassHeatPump is heating: the house's thermal mass carries it for
	// hours, shed second.
	ClassHeatPump LoadClass = 2
	// ClassOther is the rest of the non-critical load (laundry,
	// entertainment, ...), shed last.
	ClassOther LoadClass = 3
)

// numClasses is how many load classes there are; arrays are indexed by
// class-1.
const numClasses = 3

// String names the class.
func (c LoadClass) String() string {
	switch c {
	case ClassEV:
		return "ev"
	case ClassHeatPump:
		return "heatpump"
	case ClassOther:
		return "other"
	}
	return fmt.Sprintf("LoadClass(%d)", uint8(c))
}

// Shed says which of a home's non-critical loads are disconnected and,
// with Critical, whether its whole household load is (see
// gridmesh.ShedCritical and PlanRation). A decision's Shed is the next
// call's input (IslandHome.Shed): that memory is the hysteresis that keeps
// loads from flapping.
type Shed struct {
	EV, HeatPump, Other bool
	// Critical disconnects the critical load too (every class with it).
	Critical bool
}

func (s Shed) array() [numClasses]bool { return [numClasses]bool{s.EV, s.HeatPump, s.Other} }

func shedOf(a [numClasses]bool) Shed { return Shed{EV: a[0], HeatPump: a[1], Other: a[2]} }

// IslandHome is what the leader of an islanded neighborhood knows of one
// home, built by the caller from the home's telemetry and devices. Every
// power is a non-negative magnitude, except the battery's (load
// convention: MinW ≤ 0 ≤ MaxW).
type IslandHome struct {
	// Home names the home.
	Home gridmesh.HomeID
	// Battery is the home's battery (all zero: none).
	Battery gridmesh.Flexibility
	// CriticalW is the load that must be served.
	CriticalW gridmesh.W
	// EVW, HeatPumpW and OtherW are the non-critical loads by class: what
	// each draws, or would draw, when served, whether it is shed now or
	// not.
	EVW, HeatPumpW, OtherW gridmesh.W
	// PVAvailableW is what the home's PV could produce now uncurtailed.
	// An inverter that cannot tell (see gridmesh.PVState) reports its
	// curtailed output: pass a forecast (PVModel.ClearSkyW) or its peak
	// instead, or curtailment ratchets down, each limit computed from the
	// output the last one allowed.
	PVAvailableW gridmesh.W
	// PVW is what the PV produces now. The balancer counts on
	// max(PVAvailableW, PVW).
	PVW gridmesh.W
	// Shed is the previous decision for this home (zero the first time).
	Shed Shed
	// CanDisconnect is whether the home's whole load can be disconnected
	// (gridmesh.HomeLoads.CanDisconnect): the plan leaves off only such
	// homes' critical load.
	CanDisconnect bool
}

// ShedBand is a load class's hysteresis on the island's stored energy
// fraction (stored energy over capacity, 0..1): the class is shed when
// the fraction falls below ShedBelow, and a shed class comes back only
// once it reaches RestoreAbove.
type ShedBand struct {
	ShedBelow, RestoreAbove float64
}

// IslandConfig tunes BalanceIsland.
type IslandConfig struct {
	// ReserveFraction of each battery's capacity is drawn on last: homes
	// discharge first in proportion to their energy above it, so that all
	// reach it together, and only then in proportion to what they hold.
	ReserveFraction float64
	// EV, HeatPump and Other are the classes' bands. They must nest, each
	// class coming back no later than the next lower one is shed
	// (Other.RestoreAbove ≤ HeatPump.ShedBelow, HeatPump.RestoreAbove ≤
	// EV.ShedBelow), so that stored energy never sheds a higher class
	// while a lower one runs.
	EV, HeatPump, Other ShedBand
	// RestoreMargin is the spare power, as a fraction of its own, that a
	// load shed last time needs before it comes back, on top of the
	// energy rule: so a load on the edge of what the island can carry is
	// not switched every second.
	RestoreMargin float64
	// CriticalReserveHours keeps stored energy for the critical load: the
	// bands are measured on the stored energy less CriticalReserveHours
	// times the island's critical load now, so non-critical loads run
	// only on energy the critical load will not need for that long. 0
	// keeps none (the bands alone).
	CriticalReserveHours float64
}

// DefaultIslandConfig returns the bands below, for an island of homes with
// typical 5-15 kWh batteries.
//
//   - EV shed below 50%, back at 60%: a car charging at 7 kW empties a
//     13.5 kWh battery in two hours; half the island's store is kept for
//     the houses themselves.
//   - Heat pump shed below 30%, back at 40%: the house's thermal mass
//     rides through hours; below a third of the store comfort gives way.
//   - Other shed below 15%, back at 25%: the last 15% is for critical load
//     alone, about a night of fridge, lights and router (150 W for 12 h is
//     1.8 kWh, 13% of a 13.5 kWh battery).
//   - The 10-point bands are 1.35 kWh of a 13.5 kWh battery, half an hour
//     of PV charging: a passing cloud does not switch loads.
//   - ReserveFraction 15%, the point below which only critical load runs:
//     homes reach it together, and the rest is shared as it is held.
//   - RestoreMargin 10%: load ripple and metering noise are a few percent.
//   - CriticalReserveHours 6: the bands alone let the heat pumps and the
//     other loads spend what the critical load needs later (an island
//     with energy for its critical load went dark at dawn in the
//     testnet). Six hours of the critical load of the moment is about a
//     winter night's: the evening's critical load (0.3-1 kW a home, its
//     peak) for 6 h is 1.8-6 kWh, a night's base (0.1-0.3 kW) for 14 h
//     1.4-4.2 kWh. It is the load now, not a forecast: at the evening
//     peak it sheds early, in the small hours it keeps less, and the
//     Other band's 15 % is the floor under it.
func DefaultIslandConfig() IslandConfig {
	return IslandConfig{
		ReserveFraction:      0.15,
		EV:                   ShedBand{ShedBelow: 0.50, RestoreAbove: 0.60},
		HeatPump:             ShedBand{ShedBelow: 0.30, RestoreAbove: 0.40},
		Other:                ShedBand{ShedBelow: 0.15, RestoreAbove: 0.25},
		RestoreMargin:        0.10,
		CriticalReserveHours: 6,
	}
}

// Validate checks every fraction is in [0, 1], each band is ordered and
// the bands nest (see IslandConfig).
func (c IslandConfig) Validate() error {
	frac := func(x float64) bool { return !math.IsNaN(x) && x >= 0 && x <= 1 }
	if !frac(c.ReserveFraction) || c.ReserveFraction == 1 {
		return fmt.Errorf("%w: reserve fraction %v outside [0, 1)", ErrBadIslandConfig, c.ReserveFraction)
	}
	if !frac(c.RestoreMargin) {
		return fmt.Errorf("%w: restore margin %v outside [0, 1]", ErrBadIslandConfig, c.RestoreMargin)
	}
	if h := c.CriticalReserveHours; math.IsNaN(h) || h < 0 || h > maxCriticalReserveHours {
		return fmt.Errorf("%w: critical reserve %v h outside [0, %v]", ErrBadIslandConfig, h, maxCriticalReserveHours)
	}
	bands := c.bands()
	for i, b := range bands {
		if !frac(b.ShedBelow) || !frac(b.RestoreAbove) || b.ShedBelow > b.RestoreAbove {
			return fmt.Errorf("%w: %v band %+v: want 0 ≤ ShedBelow ≤ RestoreAbove ≤ 1", ErrBadIslandConfig, LoadClass(i+1), b)
		}
		if i > 0 && b.RestoreAbove > bands[i-1].ShedBelow {
			return fmt.Errorf("%w: %v restores at %v, after %v is shed at %v: the bands must nest",
				ErrBadIslandConfig, LoadClass(i+1), b.RestoreAbove, LoadClass(i), bands[i-1].ShedBelow)
		}
	}
	return nil
}

func (c IslandConfig) bands() [numClasses]ShedBand {
	return [numClasses]ShedBand{c.EV, c.HeatPump, c.Other}
}

// maxCriticalReserveHours bounds CriticalReserveHours: two days, beyond
// which an island would keep its energy for a load it could never need
// before the sun returns.
const maxCriticalReserveHours = 48

// minCurtailW is the least curtailment sent (1 mW): below it the
// surplus is rounding in the sums, and a limit would reach every inverter
// for nothing.
const minCurtailW = 1e-3

// NoPVLimit is the PVLimitW of a home whose PV is not curtailed: above any
// inverter's rating, so applying it lifts any cap.
const NoPVLimit = gridmesh.MaxHomePowerW

// IslandSetpoint is the balancer's decision for one home.
type IslandSetpoint struct {
	Home gridmesh.HomeID
	// NetW is the net import the home should hold at its meter (negative:
	// it exports to its neighbours).
	NetW gridmesh.W
	// BatteryW is the battery power that reaches NetW (positive: charge),
	// within the battery's range.
	BatteryW gridmesh.W
	// PVLimitW caps the PV output; NoPVLimit when not curtailed.
	PVLimitW gridmesh.W
	// Shed is which non-critical loads to disconnect; pass it back as the
	// next call's IslandHome.Shed.
	Shed Shed
}

// IslandBalance is the island's power balance under the decision.
type IslandBalance struct {
	// StoredFraction is the island's stored energy over its capacity (1
	// with no battery: nothing to save).
	StoredFraction float64
	// CriticalW and ServedCriticalW are the critical load and the part of
	// it served.
	CriticalW, ServedCriticalW gridmesh.W
	// NonCriticalW and ServedNonCriticalW are the non-critical load and
	// the part of it served.
	NonCriticalW, ServedNonCriticalW gridmesh.W
	// PVAvailableW is the PV the island could produce; CurtailedW the part
	// of it curtailed.
	PVAvailableW, CurtailedW gridmesh.W
	// BatteryW is the batteries' total power (positive: charging).
	BatteryW gridmesh.W
	// DisconnectedW is the critical load of the homes the plan
	// disconnects (PlanRation's Disconnect): in CriticalW, not in
	// ServedCriticalW nor UnservedW.
	DisconnectedW gridmesh.W
	// UnservedW is the critical load neither PV nor batteries can carry:
	// the setpoints' net imports sum to it, with no grid to supply it. It
	// is 0 whenever the island's power suffices.
	UnservedW gridmesh.W
	// Ignored counts input homes left out as unusable or duplicate.
	Ignored int
}

// IslandResult is an islanded neighborhood's decision.
type IslandResult struct {
	// Setpoints are sorted by home, one per usable distinct input home.
	Setpoints []IslandSetpoint
	// Balance is the island's balance under the setpoints.
	Balance IslandBalance
}

// BalanceIsland decides how an islanded neighborhood (a feeder with no
// grid) holds its power balance: each home's net import, battery power,
// PV limit and shed loads, with the net imports summing to 0, so that the
// feeder exchanges nothing with a grid that is not there. It is a pure
// function; it fails only on an invalid cfg.
//
// Homes share energy through the feeder: a home with a surplus exports
// to one with a deficit. In order:
//
//  1. Energy: with the island's free fraction s (Σ DischargeWh less
//     CriticalReserveHours of the critical load, over Σ CapacityWh), a
//     load class is shed below its band's ShedBelow, and a class shed
//     last time stays shed until s reaches RestoreAbove.
//  2. Power: if critical and remaining loads exceed the PV plus every
//     battery's most discharge, loads are shed EV first, then heat pumps,
//     then others; within a class, loads shed last time first (they were
//     only coming back), then the largest first (fewest homes touched),
//     then by home. A load shed last time counts RestoreMargin more.
//  3. Surplus: PV beyond the load charges the batteries, in proportion to
//     the room each has left (ChargeWh), so they fill together. PV beyond
//     what they can take serves shed loads that fit in it (others first,
//     then heat pumps, then EVs; smallest first), since that spends no
//     stored energy; only what is still left is curtailed, from every
//     home's PV in proportion to its output.
//  4. Deficit: batteries discharge in proportion to their energy above
//     ReserveFraction of capacity, so they reach it together and no home
//     runs dry first; beyond that in proportion to what they hold, and
//     beyond that by power alone. No battery leaves [MinW, MaxW].
//
// Critical load is always served while PV plus the batteries' power can
// carry it; what they cannot is Balance.UnservedW, and only then do the
// net imports sum to more than 0.
//
// Inputs are cleaned as Dispatch cleans them, and the result does not
// depend on their order: homes whose ID or Battery fails Validate, or
// whose powers are not finite, negative or beyond gridmesh.MaxHomePowerW
// are left out (Balance.Ignored); the rest are sorted by home, and of
// several states for one home only the first in a total order of all
// fields is kept.
func BalanceIsland(cfg IslandConfig, homes []IslandHome) (IslandResult, error) {
	if err := cfg.Validate(); err != nil {
		return IslandResult{}, err
	}
	hs := usableIslandHomes(homes)
	res := IslandResult{Balance: IslandBalance{Ignored: len(homes) - len(hs)}}
	if len(hs) == 0 {
		res.Balance.StoredFraction = 1
		return res, nil
	}
	stored, free := islandStore(cfg, hs)
	res.Balance.StoredFraction = stored
	e := shedForEnergy(cfg, hs, bandShed(cfg, free))
	return balanceAfterEnergy(cfg, hs, e, res), nil
}

// bandShed is BalanceIsland's energy rule: with the island's free
// fraction free, a class is shed below its band's ShedBelow, and one shed
// last time stays shed until free reaches RestoreAbove.
func bandShed(cfg IslandConfig, free float64) func(c int, prev bool) bool {
	bands := cfg.bands()
	return func(c int, prev bool) bool {
		return free < bands[c].ShedBelow || prev && free < bands[c].RestoreAbove
	}
}

// balanceAfterEnergy runs phases 2-4 after the energy phase's decision e.
func balanceAfterEnergy(cfg IslandConfig, hs []IslandHome, e *islandEnergy, res IslandResult) IslandResult {
	shedForPower(e, gridmesh.W(cfg.RestoreMargin))
	var batteryW []gridmesh.W
	var curtailW, unservedW gridmesh.W
	if need := servedLoad(hs, e.shed); need <= e.pvW {
		batteryW, curtailW = spreadSurplus(hs, e, need, gridmesh.W(cfg.RestoreMargin))
	} else {
		batteryW, unservedW = coverDeficit(cfg, hs, need-e.pvW, e.dischargeMaxW)
	}
	res.Setpoints, res.Balance = islandSetpoints(hs, e, batteryW, curtailW, unservedW, res.Balance)
	return res
}

// islandStore returns the island's stored fraction (Σ DischargeWh over Σ
// CapacityWh, at most 1; 1 with no battery) and the free fraction the
// bands see: the stored energy less CriticalReserveHours of the critical
// load now, over the capacity, within [0, 1].
func islandStore(cfg IslandConfig, hs []IslandHome) (stored, free float64) {
	var storedWh, capacity gridmesh.Wh
	var critical gridmesh.W
	for _, h := range hs {
		storedWh += h.Battery.DischargeWh
		capacity += h.Battery.CapacityWh
		critical += h.CriticalW
	}
	if capacity <= 0 {
		return 1, 1
	}
	reserve := gridmesh.Wh(float64(critical) * cfg.CriticalReserveHours)
	return min(float64(storedWh/capacity), 1), min(max(float64((storedWh-reserve)/capacity), 0), 1)
}

// islandEnergy is the island after the energy phase: what is shed, the
// loads that could be, and the sums the later phases work from.
type islandEnergy struct {
	shed  [][numClasses]bool // per home (sorted), per class
	loads []islandLoad       // every non-zero non-critical load
	// needW is the load served after the energy phase; marginW the
	// RestoreMargin of the loads among it that were shed last time.
	needW, marginW gridmesh.W
	// pvW is the PV the island can count on; dischargeMaxW and
	// chargeMaxW the batteries' most power each way.
	pvW, dischargeMaxW, chargeMaxW gridmesh.W
	// criticalW and nonCriticalW are the island's loads.
	criticalW, nonCriticalW gridmesh.W
}

// shedForEnergy is phase 1: shed(c, prev) says whether class c is shed,
// prev being whether the home had it shed last time (BalanceIsland: with
// the island's free fraction, a class is shed below its band's
// ShedBelow, and one shed last time stays shed until the fraction
// reaches RestoreAbove). It also collects every load and the island's
// sums.
func shedForEnergy(cfg IslandConfig, hs []IslandHome, shed func(c int, prev bool) bool) *islandEnergy {
	m := gridmesh.W(cfg.RestoreMargin)
	e := &islandEnergy{shed: make([][numClasses]bool, len(hs))}
	for i, h := range hs {
		prev, demand := h.Shed.array(), h.demand()
		e.pvW += h.pvAvailable()
		e.dischargeMaxW -= h.Battery.MinW
		e.chargeMaxW += h.Battery.MaxW
		e.needW += h.CriticalW
		e.criticalW += h.CriticalW
		for c := range numClasses {
			e.nonCriticalW += demand[c]
			e.shed[i][c] = shed(c, prev[c])
			if demand[c] <= 0 {
				continue
			}
			e.loads = append(e.loads, islandLoad{home: i, class: c, w: demand[c], prev: prev[c]})
			if !e.shed[i][c] {
				e.needW += demand[c]
				if prev[c] {
					e.marginW += m * demand[c]
				}
			}
		}
	}
	return e
}

// shedForPower is phase 2: while the served load (plus margin m on the
// loads coming back) exceeds the PV plus every battery's most discharge,
// it sheds EV first, then heat pumps, then others; within a class, loads
// shed last time first, then the largest, then by home. It leaves e.loads
// in that order.
func shedForPower(e *islandEnergy, m gridmesh.W) {
	slices.SortFunc(e.loads, func(a, b islandLoad) int {
		return cmp.Or(cmp.Compare(a.class, b.class), -compareBool(a.prev, b.prev), -cmp.Compare(a.w, b.w), cmp.Compare(a.home, b.home))
	})
	supply := e.pvW + e.dischargeMaxW
	for _, l := range e.loads {
		if e.needW+e.marginW <= supply {
			break
		}
		if e.shed[l.home][l.class] {
			continue
		}
		e.shed[l.home][l.class] = true
		e.needW -= l.w
		if l.prev {
			e.marginW -= m * l.w
		}
	}
}

// spreadSurplus is phase 3, when the PV carries the served load need: the
// surplus charges the batteries in proportion to the room each has left,
// then serves shed loads that fit in what is left (others first, then
// heat pumps, then EVs; smallest first; margin m on each), and only what
// is still left is curtailed. It returns each battery's power and the
// curtailment.
func spreadSurplus(hs []IslandHome, e *islandEnergy, need, m gridmesh.W) (batteryW []gridmesh.W, curtailW gridmesh.W) {
	surplus := e.pvW - need
	charge := min(surplus, e.chargeMaxW)
	left := surplus - charge
	slices.SortFunc(e.loads, func(a, b islandLoad) int {
		return cmp.Or(-cmp.Compare(a.class, b.class), cmp.Compare(a.w, b.w), cmp.Compare(a.home, b.home))
	})
	for _, l := range e.loads {
		cost := l.w
		if l.prev {
			cost += m * l.w
		}
		if e.shed[l.home][l.class] && cost <= left {
			e.shed[l.home][l.class] = false
			left -= l.w
		}
	}
	curtailW = e.pvW - servedLoad(hs, e.shed) - charge
	if curtailW < minCurtailW { // rounding, not a surplus
		curtailW = 0
	}
	room, caps := make([]float64, len(hs)), make([]float64, len(hs))
	for i, h := range hs {
		room[i], caps[i] = float64(h.Battery.ChargeWh), float64(h.Battery.MaxW)
	}
	batteryW = make([]gridmesh.W, len(hs))
	for i, x := range share(float64(charge), caps, room, caps) {
		batteryW[i] = gridmesh.W(x)
	}
	return batteryW, curtailW
}

// coverDeficit is phase 4, when the PV falls short of the served load by
// deficit: the batteries discharge in proportion to their energy above
// ReserveFraction of capacity, then to what they hold, then by power
// alone, dischargeMax in all at most. It returns each battery's power and
// the critical load left unserved.
func coverDeficit(cfg IslandConfig, hs []IslandHome, deficit, dischargeMax gridmesh.W) (batteryW []gridmesh.W, unservedW gridmesh.W) {
	discharge := min(deficit, dischargeMax)
	n := len(hs)
	above, held, caps := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, h := range hs {
		held[i] = float64(h.Battery.DischargeWh)
		above[i] = max(held[i]-cfg.ReserveFraction*float64(h.Battery.CapacityWh), 0)
		caps[i] = float64(-h.Battery.MinW)
	}
	batteryW = make([]gridmesh.W, n)
	for i, x := range share(float64(discharge), caps, above, held, caps) {
		batteryW[i] = -gridmesh.W(x)
	}
	return batteryW, deficit - discharge
}

// islandSetpoints assembles each home's setpoint from the phases'
// decisions (its PV curtailed in proportion to its output) and completes
// the balance bal.
func islandSetpoints(hs []IslandHome, e *islandEnergy, batteryW []gridmesh.W, curtailW, unservedW gridmesh.W, bal IslandBalance) ([]IslandSetpoint, IslandBalance) {
	bal.CriticalW, bal.NonCriticalW, bal.PVAvailableW = e.criticalW, e.nonCriticalW, e.pvW
	bal.CurtailedW, bal.UnservedW = curtailW, unservedW
	out := make([]IslandSetpoint, len(hs))
	for i, h := range hs {
		sp := IslandSetpoint{Home: h.Home, BatteryW: batteryW[i], PVLimitW: NoPVLimit, Shed: shedOf(e.shed[i])}
		pvUsed := h.pvAvailable()
		if curtailW > 0 { // so pv > 0
			pvUsed *= 1 - curtailW/e.pvW
			sp.PVLimitW = pvUsed
		}
		sp.NetW = h.CriticalW - pvUsed + batteryW[i]
		for c, w := range h.demand() {
			if !e.shed[i][c] {
				sp.NetW += w
				bal.ServedNonCriticalW += w
			}
		}
		bal.BatteryW += batteryW[i]
		out[i] = sp
	}
	bal.ServedCriticalW = bal.CriticalW - bal.UnservedW
	return out, bal
}

// servedLoad is the critical load plus every non-critical load not shed.
func servedLoad(hs []IslandHome, shed [][numClasses]bool) gridmesh.W {
	var w gridmesh.W
	for i, h := range hs {
		w += h.CriticalW
		for c, d := range h.demand() {
			if !shed[i][c] {
				w += d
			}
		}
	}
	return w
}

// islandLoad is one home's non-critical load of one class.
type islandLoad struct {
	home, class int // indices into the sorted homes and class arrays
	w           gridmesh.W
	prev        bool // shed last time
}

func (h IslandHome) demand() [numClasses]gridmesh.W {
	return [numClasses]gridmesh.W{h.EVW, h.HeatPumpW, h.OtherW}
}

func (h IslandHome) pvAvailable() gridmesh.W { return max(h.PVAvailableW, h.PVW) }

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// share divides amount (0 ≤ amount ≤ Σ caps) among slots in proportion to
// the first tier of weights, none beyond its cap; what capped slots could
// not take goes to the others by the next tier, and so on. Slots with
// zero weight in a tier take nothing in it. The result is deterministic
// for given inputs.
func share(amount float64, caps []float64, tiers ...[]float64) []float64 {
	out := make([]float64, len(caps))
	for _, w := range tiers {
		if amount <= 0 {
			break
		}
		amount = waterfill(amount, caps, w, out)
	}
	return out
}

// waterfill adds to out[i] up to caps[i] in proportion to w[i] until
// amount is spent or every weighted slot is full, and returns what is
// left. Slots are visited in order of room/weight, so that once one is
// not filled by its share, no later one is.
func waterfill(amount float64, caps, w, out []float64) float64 {
	idx := make([]int, 0, len(caps))
	for i := range caps {
		if w[i] > 0 && caps[i]-out[i] > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(i, j int) int {
		return cmp.Or(cmp.Compare((caps[i]-out[i])/w[i], (caps[j]-out[j])/w[j]), cmp.Compare(i, j))
	})
	// rest[k] is the weight of idx[k:], summed from the end so that it is
	// never below w[idx[k]]: each share is at most the whole amount.
	rest := make([]float64, len(idx)+1)
	for k := len(idx) - 1; k >= 0; k-- {
		rest[k] = rest[k+1] + w[idx[k]]
	}
	for k, i := range idx {
		if amount <= 0 {
			return 0
		}
		room := caps[i] - out[i]
		if amount*w[i]/rest[k] >= room {
			out[i] = caps[i]
			amount -= room
			continue
		}
		for _, j := range idx[k:] {
			out[j] += min(amount*w[j]/rest[k], caps[j]-out[j])
		}
		return 0
	}
	return max(amount, 0)
}

// usableIslandHomes returns the valid homes of hs, sorted by home, one
// state per home.
func usableIslandHomes(hs []IslandHome) []IslandHome {
	out := make([]IslandHome, 0, len(hs))
	for _, h := range hs {
		if h.Home.Validate() != nil || h.Battery.Validate() != nil {
			continue
		}
		ok := true
		for _, w := range []gridmesh.W{h.CriticalW, h.EVW, h.HeatPumpW, h.OtherW, h.PVAvailableW, h.PVW} {
			ok = ok && w.Finite() && w >= 0 && w <= gridmesh.MaxHomePowerW
		}
		if ok {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, compareIslandHomes)
	return slices.CompactFunc(out, func(a, b IslandHome) bool { return a.Home == b.Home })
}

// compareIslandHomes orders by home, then by every other field, so that
// sorting gives one order whatever the input order.
func compareIslandHomes(a, b IslandHome) int {
	return cmp.Or(
		cmp.Compare(a.Home, b.Home),
		compareFloat(float64(a.CriticalW), float64(b.CriticalW)),
		compareFloat(float64(a.EVW), float64(b.EVW)),
		compareFloat(float64(a.HeatPumpW), float64(b.HeatPumpW)),
		compareFloat(float64(a.OtherW), float64(b.OtherW)),
		compareFloat(float64(a.PVAvailableW), float64(b.PVAvailableW)),
		compareFloat(float64(a.PVW), float64(b.PVW)),
		compareBool(a.Shed.EV, b.Shed.EV),
		compareBool(a.Shed.HeatPump, b.Shed.HeatPump),
		compareBool(a.Shed.Other, b.Shed.Other),
		compareBool(a.Shed.Critical, b.Shed.Critical),
		compareBool(a.CanDisconnect, b.CanDisconnect),
		compareFlexibility(a.Battery, b.Battery),
	)
}
