package testnet

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// The feeder model, used while the grid is lost (the outage scenario).
//
// On the grid a feeder is an infinite bus: its frequency and voltage are
// the grid's, which scenarios set (frequency-dip), and its import is the
// sum of its homes' net imports.
//
// Islanded, nothing outside balances it, and its frequency follows the
// power balance by the swing equation of the feeder's grid-forming
// battery inverters (virtual synchronous machines), in per unit of the
// feeder's battery rating S (Σ MaxDischargeW):
//
//	2H · dx/dt = ΔP/S − D·x,   x = (f − f0)/f0,   ΔP = −Σ net − ΔP_pv
//
// ΔP is the surplus (generation minus load: minus the homes' summed net
// import), less the PV the inverters shed above 50.2 Hz (LFSM-O,
// EN 50549-1, at its steepest 2 % droop: all of it by 51.2 Hz). D is the
// inverters' own damping, which only batteries able to move in the
// needed direction provide: D = feederDampingPU·S_dir/S +
// loadDampingPU·L/S, with S_dir the rating of the batteries that can
// still discharge (for a deficit) or charge (for a surplus) and L the
// power the feeder's loads draw. The loads' damping is in per unit of
// the load, not of the inverters' rating: a load of 1 pu/pu draws 1 %
// less at 1 % below 50 Hz, so an island whose batteries are empty stays
// above its 47.5 Hz trip only while its deficit is under 5 % of its load,
// and otherwise falls out of bounds within seconds: a blackout. (Scaled
// by the rating, as it once was, the relief of a 5 kW home's inverter
// held up to 250 W of load with nothing supplying it, a house's whole
// night-time critical load.) Between samples the equation is integrated
// exactly (ΔP and D held).
//
// The damping term is power: the grid-forming inverters answer the
// frequency at once, before any home's loop does (with its droop, a tick
// later), and what they deliver comes out of their batteries. After each
// step the feeder takes that energy, feederDampingPU·x·S_dir over the
// step's simulated time, from (or, for a surplus, puts it into) the
// batteries able to move that way, in proportion to their rating
// (sim.Battery.Exchange), so no load is served on energy no battery gave.
//
// Voltage is stated as simply: 230 V less feederDropVPerKW for every kW
// the feeder imports per home (resistive drop along a low-voltage
// feeder), and, islanded, scaled by f/f0 (the inverters' V/Hz coupling:
// an inverter dragged down in frequency by overload sags in voltage too).
//
// The electrical model runs in real time, whatever --speed: it is
// coupled to the homes' 100 ms control loops, which run at real speed;
// --speed accelerates energy (batteries, loads, PV, heat, cars).
//
// A feeder outside [tripLowHz, tripHighHz] or [tripLowV, tripHighV] for
// longer than tripAfter blacks out: every meter reads 0 V, 0 Hz and no
// grid, inverters disconnect (the homes' loops hold their batteries at 0
// W on a dead bus), nothing in the homes has power (sim.Grid.Dead: no
// load is served, cars do not charge, houses cool) and PV is off. It is
// re-energized when the grid returns, or by a black start: once
// blackStartAfter of simulated time has passed (protection resets, and
// loads the leader has shed stay off meanwhile), a grid-forming battery
// restarts the feeder if
//
//   - its batteries still hold blackStartFraction of their capacity, or
//   - its PV carries the feeder's critical load now and over the next
//     hour with blackStartPVMargin to spare: PV available now at least
//     the margin times the critical load now, and the PV energy of the
//     next hour at least the margin times the critical energy of the
//     next hour. The surplus charges the batteries (the battery forms
//     the grid with PV behind it, so it needs no stored energy to
//     start); an island black-started on PV at noon may go dark again
//     at dusk, and that counts as another blackout.
//
// The next hour is read from the homes' own PV and load models, which
// are deterministic: a perfect one-hour forecast, as a clear-sky model
// with a cloud cover nowcast nearly is.
const (
	// feederInertiaH is the virtual inertia constant, in seconds: grid-
	// forming battery inverters emulate 2-10 s; 4 s is a middle value
	// (a synchronous generator of a few MW has 2-6 s).
	feederInertiaH = 4.0
	// feederDampingPU is the grid-forming inverters' damping, in per unit
	// power per unit frequency (150: 0.67 % droop, full rating at 0.33 Hz).
	// It is stiffer than the homes' droop (full range at 0.5 Hz, about
	// 100 pu/pu), so the discrete loop the homes close once a tick
	// through the meter (gain ≤ 0.7 with one tick of delay) is stable,
	// and an island with no plan settles with no oscillation.
	feederDampingPU = 150.0
	// loadDampingPU is the loads' own frequency sensitivity (motors draw
	// less at lower frequency), in per unit of the load per unit
	// frequency: 1 pu/pu is the textbook value (Kundur, Power System
	// Stability and Control, 1994, §11.1: 1-2 %/% for a mixed load).
	loadDampingPU = 1.0
	// lfsmStartHz and lfsmFullHz: PV sheds output linearly from 50.2 Hz
	// and is off by 51.2 Hz (EN 50549-1 LFSM-O at 2 % droop).
	lfsmStartHz, lfsmFullHz = 50.2, 51.2
	// feederDropVPerKW is the voltage drop per kW imported per home: 8 V
	// (3.5 %) at 2 kW a home, a typical loaded LV feeder end.
	feederDropVPerKW = 4.0
	// Trip bands: G99's (GB) loss-of-mains and protection settings for
	// inverters, 47.5-52 Hz and 0.8-1.14 pu of 230 V.
	tripLowHz, tripHighHz = 47.5, 52.0
	tripLowV, tripHighV   = 184.0, 262.2
	// tripAfter is how long a violation lasts before protection trips
	// (G99's fastest stage, 0.5 s).
	tripAfter = 500 * time.Millisecond
	// blackStartAfter (simulated) and blackStartFraction: a dark feeder
	// is restarted a quarter of an hour later if its batteries hold 5 %
	// of their capacity, enough to carry critical load for a while.
	blackStartAfter    = 15 * time.Minute
	blackStartFraction = 0.05
	// blackStartPVMargin is how much more PV than critical load a black
	// start on PV needs: a passing cloud lets 20-70 % of the light
	// through for minutes (devices/sim), and until the batteries hold
	// some charge nothing else carries the load; 1.5 rides the thinner
	// clouds, and batteries charged for a few minutes ride the rest.
	blackStartPVMargin = 1.5
	// blackStartHorizon and blackStartSteps: the next hour, sampled every
	// quarter of an hour (PV and load change little within one).
	blackStartHorizon = time.Hour
	blackStartSteps   = 4
	// feederNominalV is the nominal phase voltage.
	feederNominalV = 230.0
)

// feeder is one island's electrical model: a neighborhood's homes, or
// one home on its own (--no-sharing). Owned by the run's goroutine.
type feeder struct {
	homes   []*home
	ratingW gridmesh.W // S: Σ MaxDischargeW

	islanded bool      // the grid is lost
	dark     bool      // blacked out
	darkAt   time.Time // simulated time the feeder went dark
	x        float64   // (f − f0)/f0
	voltageV float64
	badSince time.Time // real time a violation began; zero when none
	lastReal time.Time // real time of the last step

	blackouts   int
	blackStarts int // re-energized while the grid was still gone
	// startStoredWh, pvWh and criticalWh are the feeder's energy account
	// over the outage: stored when the grid went, PV its arrays could
	// produce, critical load demanded (outage.go).
	startStoredWh, pvWh, criticalWh gridmesh.Wh
	// dampingWh is the energy the inverters' damping drew from the
	// batteries (positive) or put into them, over the outage.
	dampingWh gridmesh.Wh
	// reliefWh is the load the loads' own damping shed below 50 Hz (they
	// draw less at a lower frequency): no source supplied it, so the
	// report does not count it as served (island.load_relief_kwh).
	reliefWh gridmesh.Wh
	lastSim  time.Time // simulated time of the last step
	// blackoutStored is the feeder's stored energy over its capacity at
	// each blackout, in percent: whether the island ran out of energy or
	// lost its balance with energy left.
	blackoutStored []float64
}

func newFeeder(homes []*home) *feeder {
	f := &feeder{homes: homes, voltageV: feederNominalV}
	for _, h := range homes {
		f.ratingW += h.params.Battery.MaxDischargeW
	}
	return f
}

// frequencyHz is the feeder's frequency.
func (f *feeder) frequencyHz() float64 { return nominalHz * (1 + f.x) }

// feederSample is one step's view of the feeder's homes.
type feederSample struct {
	netW, pvW           gridmesh.W
	loadW               gridmesh.W // what the loads draw: Σ net + PV − battery
	canDischargeW       gridmesh.W // rating of batteries that can discharge
	canChargeW          gridmesh.W // rating of batteries that can charge
	storedWh, capacityW gridmesh.Wh
	// pvAvailW and criticalW are the PV the arrays could produce and the
	// critical load, now; pvNextWh and criticalNextWh the same over the
	// next blackStartHorizon (only measured while dark).
	pvAvailW, criticalW      gridmesh.W
	pvNextWh, criticalNextWh gridmesh.Wh
	// off says, per home, that its household load is disconnected
	// (sim.HomeSnapshot.CriticalOff): its critical load is not the
	// feeder's to carry.
	off []bool
}

func (f *feeder) measure(snaps []sim.HomeSnapshot) feederSample {
	var s feederSample
	for i, h := range f.homes {
		sn := snaps[i]
		s.netW += sn.NetW
		s.pvW += sn.PVW
		s.loadW += sn.NetW + sn.PVW - sn.BatteryW
		b := h.params.Battery
		if sn.StoredWh > 1 { // 1 Wh: an empty battery's rounding
			s.canDischargeW += b.MaxDischargeW
		}
		if sn.SoC < 0.999 {
			s.canChargeW += b.MaxChargeW
		}
		s.storedWh += sn.StoredWh
		s.capacityW += b.CapacityWh
		s.pvAvailW += sn.PVAvailableW
		s.off = append(s.off, sn.CriticalOff)
		if !sn.CriticalOff {
			s.criticalW += sn.CriticalW
		}
	}
	return s
}

// forecast adds to s the feeder's PV and critical energy over the
// blackStartHorizon after simNow, from the homes' PV and load models.
func (f *feeder) forecast(s *feederSample, simNow time.Time) {
	step := blackStartHorizon / blackStartSteps
	hours := step.Hours()
	for k := range blackStartSteps {
		at := simNow.Add(step/2 + time.Duration(k)*step) // the middle of each step
		for i, h := range f.homes {
			if pv := h.full.PV; pv != nil {
				s.pvNextWh += gridmesh.Wh(float64(pv.PowerAt(at)) * hours)
			}
			if l := h.full.Load; l != nil && !s.off[i] {
				s.criticalNextWh += gridmesh.Wh(float64(l.State(at, false).CriticalW) * hours)
			}
		}
	}
}

// canBlackStart reports whether a dark feeder in state s may be
// restarted (see the model's doc: stored energy, or PV with margin).
func canBlackStart(s feederSample) bool {
	if s.capacityW <= 0 {
		return false // no battery to form the grid
	}
	if float64(s.storedWh/s.capacityW) >= blackStartFraction {
		return true
	}
	return s.pvAvailW >= blackStartPVMargin*s.criticalW &&
		s.pvNextWh >= blackStartPVMargin*s.criticalNextWh && s.pvNextWh > 0
}

// islandStep advances the islanded model from the last step to realNow,
// given the homes' snapshots (taken at simNow), and returns whether the
// feeder blacked out on this step.
func (f *feeder) islandStep(realNow, simNow time.Time, snaps []sim.HomeSnapshot) bool {
	s := f.measure(snaps)
	if f.dark && simNow.Sub(f.darkAt) >= blackStartAfter {
		f.forecast(&s, simNow)
	}
	x0, wasDark := f.x, f.dark
	out := f.stepSample(realNow, simNow, s)
	if dt := simNow.Sub(f.lastSim); !wasDark && !f.lastSim.IsZero() && dt > 0 {
		x := (x0 + f.x) / 2
		f.damp(snaps, x, dt)
		if x < 0 {
			f.reliefWh += gridmesh.Wh(loadDampingPU * -x * float64(max(s.loadW, 0)) * dt.Hours())
		}
	}
	f.lastSim = simNow
	return out
}

// damp takes the energy the inverters' damping delivered over dt of
// simulated time at mean frequency deviation x from the batteries that
// can move in its direction, in proportion to their rating.
func (f *feeder) damp(snaps []sim.HomeSnapshot, x float64, dt time.Duration) {
	discharge := x < 0
	var dirW gridmesh.W
	movable := func(i int) bool {
		if discharge {
			return snaps[i].StoredWh > 1
		}
		return snaps[i].SoC < 0.999
	}
	rating := func(h *home) gridmesh.W {
		if discharge {
			return h.params.Battery.MaxDischargeW
		}
		return h.params.Battery.MaxChargeW
	}
	for i, h := range f.homes {
		if movable(i) {
			dirW += rating(h)
		}
	}
	if dirW <= 0 {
		return
	}
	// Power the inverters delivered: positive charges the batteries.
	powerW := gridmesh.W(feederDampingPU * x * float64(dirW))
	energy := gridmesh.Wh(float64(powerW) * dt.Hours())
	for i, h := range f.homes {
		b := h.dev.Devices().Battery
		if b == nil || !movable(i) {
			continue
		}
		f.dampingWh -= b.Exchange(energy * gridmesh.Wh(rating(h)/dirW))
	}
}

// swingStep integrates the swing equation over dt with the surplus and
// damping of sample s held: x relaxes exponentially, with time constant
// 2H/D, towards ΔP/(S·D). LFSM-O is evaluated at the start of the step.
func swingStep(x float64, s feederSample, ratingW gridmesh.W, dt time.Duration) float64 {
	surplus := -float64(s.netW)
	if hz := nominalHz * (1 + x); hz > lfsmStartHz {
		surplus -= float64(s.pvW) * min((hz-lfsmStartHz)/(lfsmFullHz-lfsmStartHz), 1)
	}
	dir := s.canDischargeW
	if surplus > 0 {
		dir = s.canChargeW
	}
	d := feederDampingPU*float64(dir/ratingW) + loadDampingPU*float64(max(s.loadW, 0)/ratingW)
	if d < 1e-9 { // nothing damps: the inertia alone, 2H·dx/dt = ΔP/S
		return x + surplus/float64(ratingW)/(2*feederInertiaH)*dt.Seconds()
	}
	eq := surplus / float64(ratingW) / d
	tau := 2 * feederInertiaH / d
	return eq + (x-eq)*math.Exp(-dt.Seconds()/tau)
}

// grid is what the feeder's meters read now.
func (f *feeder) grid() sim.Grid {
	if f.dark {
		return sim.Grid{}
	}
	if !f.islanded {
		return sim.DefaultGrid()
	}
	v := min(max(f.voltageV, 0), 999)
	hz := min(max(f.frequencyHz(), 0), 99)
	return sim.Grid{VoltageV: v, FrequencyHz: hz, Up: false}
}

// stepSample is islandStep on a sample already measured (for tests and
// islandStep itself).
func (f *feeder) stepSample(realNow, simNow time.Time, s feederSample) bool {
	dt := realNow.Sub(f.lastReal)
	f.lastReal = realNow
	if f.dark {
		if simNow.Sub(f.darkAt) >= blackStartAfter && canBlackStart(s) {
			f.dark, f.x, f.voltageV, f.badSince = false, 0, feederNominalV, time.Time{}
			f.blackStarts++
		}
		return false
	}
	if dt > 0 && f.ratingW > 0 {
		f.x = swingStep(f.x, s, f.ratingW, dt)
	}
	perHomeKW := float64(s.netW) / 1000 / float64(max(len(f.homes), 1))
	f.voltageV = (feederNominalV - feederDropVPerKW*perHomeKW) * (1 + f.x)
	hz := f.frequencyHz()
	bad := hz < tripLowHz || hz > tripHighHz || f.voltageV < tripLowV || f.voltageV > tripHighV
	switch {
	case !bad:
		f.badSince = time.Time{}
	case f.badSince.IsZero():
		f.badSince = realNow
	case realNow.Sub(f.badSince) >= tripAfter:
		f.dark, f.darkAt, f.blackouts = true, simNow, f.blackouts+1
		f.badSince = time.Time{}
		if s.capacityW > 0 {
			f.blackoutStored = append(f.blackoutStored, 100*float64(s.storedWh/s.capacityW))
		}
		return true
	}
	return false
}
