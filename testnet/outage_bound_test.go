package testnet_test

import (
	"errors"
	"math"
	mrand "math/rand/v2"
	"testing"

	"github.com/gridmesh/gridmesh/testnet"
)

// ideal is a battery with no losses and no power limit worth the name.
func ideal(capacity, stored float64) testnet.BoundFeeder {
	return testnet.BoundFeeder{StepH: 1, CapacityWh: capacity, StoredWh: stored,
		MaxChargeW: 1e6, MaxDischargeW: 1e6, ChargeEff: 1, DischargeEff: 1}
}

func with(b testnet.BoundFeeder, critical, pv []float64) testnet.BoundFeeder {
	b.CriticalWh, b.PVWh = critical, pv
	return b
}

// Cases small enough to solve by hand.
func TestCriticalBoundByHand(t *testing.T) {
	lossy := ideal(100, 10)
	lossy.DischargeEff = 0.5
	slow := ideal(100, 100)
	slow.MaxDischargeW = 2
	slowCharge := ideal(100, 0)
	slowCharge.MaxChargeW = 3
	for name, tc := range map[string]struct {
		in   testnet.BoundFeeder
		want float64
	}{
		"no battery: PV alone":           {with(ideal(0, 0), []float64{10, 10}, []float64{5, 12}), 15},
		"store spread over a night":      {with(ideal(10, 10), []float64{4, 4, 4}, []float64{0, 0, 0}), 10},
		"discharge power limits":         {with(slow, []float64{5, 5}, []float64{0, 0}), 4},
		"discharge losses":               {with(lossy, []float64{100}, []float64{0}), 5},
		"day charges the night":          {with(ideal(4, 0), []float64{0, 10}, []float64{10, 0}), 4},
		"night before day: nothing kept": {with(ideal(4, 0), []float64{10, 0}, []float64{0, 10}), 0},
		"charge power limits":            {with(slowCharge, []float64{0, 10}, []float64{10, 0}), 3},
		"nothing demanded":               {with(ideal(10, 5), []float64{0, 0}, []float64{3, 0}), 0},
		"no bins":                        {with(ideal(10, 5), nil, nil), 0},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.in.CriticalBound()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("bound %v Wh, want %v", got, tc.want)
			}
		})
	}
}

func TestCriticalBoundRefusesBadInput(t *testing.T) {
	for name, b := range map[string]testnet.BoundFeeder{
		"bins differ":      with(ideal(10, 5), []float64{1}, nil),
		"negative demand":  with(ideal(10, 5), []float64{-1}, []float64{0}),
		"NaN PV":           with(ideal(10, 5), []float64{1}, []float64{math.NaN()}),
		"overfull":         with(ideal(10, 50), []float64{1}, []float64{0}),
		"zero efficiency":  with(testnet.BoundFeeder{StepH: 1, CapacityWh: 1}, []float64{1}, []float64{0}),
		"zero step length": with(testnet.BoundFeeder{CapacityWh: 1, ChargeEff: 1, DischargeEff: 1}, []float64{1}, []float64{0}),
	} {
		if _, err := b.CriticalBound(); !errors.Is(err, testnet.ErrBadBound) {
			t.Errorf("%s: err %v, want ErrBadBound", name, err)
		}
	}
}

// greedyCritical serves critical load from PV, stores every surplus it
// can and spends the store on every deficit at once. With critical load
// alone on one store, each stored Wh serves one Wh whenever spent and a
// fuller store only spills more, so greedy is optimal: the LP must match
// it.
func greedyCritical(b testnet.BoundFeeder) float64 {
	e, served := b.StoredWh, 0.0
	for t := range b.CriticalWh {
		c, pv := b.CriticalWh[t], b.PVWh[t]
		if pv >= c {
			ch := min(pv-c, b.MaxChargeW*b.StepH, (b.CapacityWh-e)/b.ChargeEff)
			e += ch * b.ChargeEff
			served += c
			continue
		}
		dis := min(c-pv, b.MaxDischargeW*b.StepH, e*b.DischargeEff)
		e -= dis / b.DischargeEff
		served += pv + dis
	}
	return served
}

// On tiny random feeders the LP's bound equals the greedy optimum.
func TestCriticalBoundMatchesGreedyOnRandomFeeders(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(14, 1))
	for i := range 300 {
		n := 1 + rng.IntN(8)
		capacity := rng.Float64() * 20
		b := testnet.BoundFeeder{
			StepH: []float64{0.25, 1, 2}[rng.IntN(3)], CapacityWh: capacity, StoredWh: rng.Float64() * capacity,
			MaxChargeW: rng.Float64() * 10, MaxDischargeW: rng.Float64() * 10,
			ChargeEff: 0.5 + rng.Float64()/2, DischargeEff: 0.5 + rng.Float64()/2,
		}
		for range n {
			b.CriticalWh = append(b.CriticalWh, rng.Float64()*10)
			pv := 0.0
			if rng.IntN(2) == 0 {
				pv = rng.Float64() * 15
			}
			b.PVWh = append(b.PVWh, pv)
		}
		got, err := b.CriticalBound()
		if err != nil {
			t.Fatalf("feeder %d %+v: %v", i, b, err)
		}
		if want := greedyCritical(b); math.Abs(got-want) > 1e-6*(1+want) {
			t.Fatalf("feeder %d %+v: bound %v Wh, greedy optimum %v", i, b, got, want)
		}
	}
}
