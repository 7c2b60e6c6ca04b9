package testnet

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// The perfect-foresight bound: the most critical energy an island could
// have served, had its planner known the whole outage ahead. It is
// computed offline from the run's own record of each island (the
// critical demand and the PV its arrays could produce, in bins of
// boundBin of simulated time) and its batteries, as a linear program
// solved with gonum's simplex (BoundFeeder.CriticalBound).
//
// The island's batteries are pooled into one: capacity, power limits and
// stored energy summed, the efficiency their capacity-weighted mean. A
// shared feeder can move energy between its homes freely, so the pool
// loses nothing the homes could do, and it may do a little more (it
// cannot run one home's battery empty while another's is full): the
// bound is an upper bound, never an underestimate. Binning averages the
// load and the PV over each bin, which also errs on the generous side.
// Non-critical load is left out: serving it never serves more critical
// load.

// boundBin is the bound's time step: an hour keeps a 24 h outage's LP at
// 144 rows, which gonum's dense simplex solves in well under a second
// (at 15 minutes it took tens of seconds), and a winter day's PV and load
// change little within an hour.
const boundBin = time.Hour

// BoundFeeder is one island's record for the bound.
type BoundFeeder struct {
	// StepH is each bin's length, in hours.
	StepH float64
	// CriticalWh and PVWh are, per bin, the critical load demanded and
	// what the PV could have produced uncurtailed.
	CriticalWh, PVWh []float64
	// CapacityWh, StoredWh: the pooled batteries' capacity and what they
	// held when the grid went.
	CapacityWh, StoredWh float64
	// MaxChargeW, MaxDischargeW: their summed power limits.
	MaxChargeW, MaxDischargeW float64
	// ChargeEff and DischargeEff are the one-way efficiencies (√ of the
	// round trip), in (0, 1].
	ChargeEff, DischargeEff float64
}

// ErrBadBound is wrapped by every bound input error.
var ErrBadBound = errors.New("testnet: bad bound input")

func (b BoundFeeder) validate() error {
	ok := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }
	if len(b.CriticalWh) != len(b.PVWh) || !(b.StepH > 0) || math.IsInf(b.StepH, 0) {
		return fmt.Errorf("%w: %d critical bins, %d PV bins, step %v h", ErrBadBound, len(b.CriticalWh), len(b.PVWh), b.StepH)
	}
	for i := range b.CriticalWh {
		if !ok(b.CriticalWh[i]) || !ok(b.PVWh[i]) {
			return fmt.Errorf("%w: bin %d: critical %v Wh, PV %v Wh", ErrBadBound, i, b.CriticalWh[i], b.PVWh[i])
		}
	}
	for _, x := range []float64{b.CapacityWh, b.StoredWh, b.MaxChargeW, b.MaxDischargeW} {
		if !ok(x) {
			return fmt.Errorf("%w: battery figure %v", ErrBadBound, x)
		}
	}
	if b.StoredWh > b.CapacityWh*(1+1e-9) || !(b.ChargeEff > 0 && b.ChargeEff <= 1) || !(b.DischargeEff > 0 && b.DischargeEff <= 1) {
		return fmt.Errorf("%w: stored %v of %v Wh, efficiencies %v, %v", ErrBadBound, b.StoredWh, b.CapacityWh, b.ChargeEff, b.DischargeEff)
	}
	return nil
}

// boundTol is the simplex's tolerance on reduced costs; the result is
// rounded no finer than a milliwatt-hour anyway.
const boundTol = 1e-9

// CriticalBound returns the most critical energy, in Wh, that the island
// could serve over its bins with perfect foresight. Per bin t, with
// served critical c, battery charge and discharge powers ch and dis, and
// stored energy E at the bin's end:
//
//	maximize Σ c_t
//	c_t ≤ critical_t, ch_t ≤ MaxChargeW·h, dis_t ≤ MaxDischargeW·h
//	c_t + ch_t − dis_t ≤ pv_t            (PV beyond use is curtailed)
//	E_t = E_{t−1} + ηc·ch_t − dis_t/ηd,  0 ≤ E_t ≤ CapacityWh
//
// in energies per bin (h = StepH), E_0 = StoredWh.
func (b BoundFeeder) CriticalBound() (float64, error) {
	if err := b.validate(); err != nil {
		return 0, err
	}
	T := len(b.CriticalWh)
	if T == 0 {
		return 0, nil
	}
	// Columns per bin: c, ch, dis, E, then slacks s1..s5 of the rows
	// below. Rows per bin: c bound, ch bound, dis bound, balance, SoC,
	// capacity.
	const nv, nr = 9, 6
	A := mat.NewDense(nr*T, nv*T, nil)
	rhs := make([]float64, nr*T)
	cost := make([]float64, nv*T)
	basic := make([]int, 0, nr*T)
	for t := range T {
		col, row := nv*t, nr*t
		c, ch, dis, e := col, col+1, col+2, col+3
		cost[c] = -1
		// c + s1 = critical
		A.Set(row, c, 1)
		A.Set(row, col+4, 1)
		rhs[row] = b.CriticalWh[t]
		// ch + s2 = MaxChargeW·h
		A.Set(row+1, ch, 1)
		A.Set(row+1, col+5, 1)
		rhs[row+1] = b.MaxChargeW * b.StepH
		// dis + s3 = MaxDischargeW·h
		A.Set(row+2, dis, 1)
		A.Set(row+2, col+6, 1)
		rhs[row+2] = b.MaxDischargeW * b.StepH
		// c + ch − dis + s4 = pv
		A.Set(row+3, c, 1)
		A.Set(row+3, ch, 1)
		A.Set(row+3, dis, -1)
		A.Set(row+3, col+7, 1)
		rhs[row+3] = b.PVWh[t]
		// E_t − E_{t−1} − ηc·ch + dis/ηd = 0 (E_0 on the right)
		A.Set(row+4, e, 1)
		A.Set(row+4, ch, -b.ChargeEff)
		A.Set(row+4, dis, 1/b.DischargeEff)
		if t > 0 {
			A.Set(row+4, e-nv, -1)
		} else {
			rhs[row+4] = b.StoredWh
		}
		// E_t + s5 = capacity
		A.Set(row+5, e, 1)
		A.Set(row+5, col+8, 1)
		rhs[row+5] = max(b.CapacityWh, b.StoredWh)
		// Serving nothing, charging nothing, holding E_0 is feasible:
		// its basis is every slack but the balance's plus E_t.
		basic = append(basic, col+4, col+5, col+6, col+7, e, col+8)
	}
	opt, _, err := lp.Simplex(cost, A, rhs, boundTol, basic)
	if err != nil {
		return 0, fmt.Errorf("critical bound: %w", err)
	}
	return -opt, nil
}

// boundRec collects one island's bins while the grid is gone: for the
// bound, its critical demand and available PV; for what was served, the
// critical demand and non-critical load served while it was energized
// and its sources' supply and its loads' draw (binShare).
type boundRec struct {
	startSim         time.Time
	criticalWh, pvWh []float64
	// onCriticalWh and onNonWh are the critical demand and the
	// non-critical load served while energized; supplyWh and drawnWh
	// the island's supply and its loads' draw (feederFlows).
	onCriticalWh, onNonWh, supplyWh, drawnWh []float64
	demandedWh                               float64 // critical, over the outage
}

// bin is the index of the bin of the step of dt ending at simNow, the
// bins grown to hold it; -1 before the outage or for an empty step.
func (b *boundRec) bin(simNow time.Time, dt time.Duration) int {
	if b.startSim.IsZero() || dt <= 0 {
		return -1
	}
	i := max(int(simNow.Add(-dt/2).Sub(b.startSim)/boundBin), 0)
	for len(b.criticalWh) <= i {
		b.criticalWh, b.pvWh = append(b.criticalWh, 0), append(b.pvWh, 0)
		b.onCriticalWh, b.onNonWh = append(b.onCriticalWh, 0), append(b.onNonWh, 0)
		b.supplyWh, b.drawnWh = append(b.supplyWh, 0), append(b.drawnWh, 0)
	}
	return i
}

// add accounts one home's critical demand and PV over dt ending at
// simNow and, when its feeder was energized (on), its critical demand
// and the non-critical load it served (nonServedW).
func (b *boundRec) add(simNow time.Time, dt time.Duration, criticalW, pvW, nonServedW float64, on bool) {
	i := b.bin(simNow, dt)
	if i < 0 {
		return
	}
	h := dt.Hours()
	b.criticalWh[i] += max(criticalW, 0) * h
	b.pvWh[i] += max(pvW, 0) * h
	b.demandedWh += max(criticalW, 0) * h
	if on {
		b.onCriticalWh[i] += max(criticalW, 0) * h
		b.onNonWh[i] += max(nonServedW, 0) * h
	}
}

// addFlows accounts the island's supply and its loads' draw over a step
// of dt ending at simNow while it was energized (feederFlows).
func (b *boundRec) addFlows(simNow time.Time, dt time.Duration, supplyWh, drawnWh float64) {
	if i := b.bin(simNow, dt); i >= 0 {
		b.supplyWh[i] += supplyWh
		b.drawnWh[i] += drawnWh
	}
}

// served is the critical and non-critical energy the island's sources
// supplied: in each bin, what its loads demanded (critical) or drew
// (non-critical) while energized times the bin's binShare.
func (b *boundRec) served() (criticalWh, nonWh float64) {
	for i := range b.onCriticalWh {
		share := binShare(b.supplyWh[i], b.drawnWh[i])
		criticalWh += share * b.onCriticalWh[i]
		nonWh += share * b.onNonWh[i]
	}
	return criticalWh, nonWh
}

// boundFeeder is feeder f's record as the bound's input.
func (b *boundRec) boundFeeder(f *feeder) BoundFeeder {
	bf := BoundFeeder{StepH: boundBin.Hours(), CriticalWh: b.criticalWh, PVWh: b.pvWh, StoredWh: float64(f.startStoredWh)}
	var effWeighted float64
	for _, h := range f.homes {
		p := h.params.Battery
		bf.CapacityWh += float64(p.CapacityWh)
		bf.MaxChargeW += float64(p.MaxChargeW)
		bf.MaxDischargeW += float64(p.MaxDischargeW)
		effWeighted += float64(p.CapacityWh) * math.Sqrt(p.RoundTripEfficiency)
	}
	bf.ChargeEff, bf.DischargeEff = 1, 1
	if bf.CapacityWh > 0 {
		bf.ChargeEff = effWeighted / bf.CapacityWh
		bf.DischargeEff = bf.ChargeEff
	}
	bf.StoredWh = min(bf.StoredWh, bf.CapacityWh)
	return bf
}
