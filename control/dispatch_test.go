package control

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// flex is a valid battery flexibility with the given range.
func flex(minW, maxW gridmesh.W) gridmesh.Flexibility {
	return gridmesh.Flexibility{MinW: minW, MaxW: maxW, SoC: 0.5, CapacityWh: 10_000, ChargeWh: 5_000, DischargeWh: 5_000}
}

func home(id string, baseW, minW, maxW gridmesh.W) HomeState {
	return HomeState{Home: gridmesh.HomeID(id), BaseW: baseW, Battery: flex(minW, maxW)}
}

func TestDispatch(t *testing.T) {
	// a imports 1 kW and can move ±5 kW; b exports 2 kW and can take
	// 5 kW or give 2 kW. Self-consumption: a discharges 1 kW, b charges
	// 2 kW, both net 0; headroom up 6+3 kW, down 4+4 kW.
	ab := []HomeState{home("b", -2_000, -2_000, 5_000), home("a", 1_000, -5_000, 5_000)}
	tests := []struct {
		name      string
		target    gridmesh.W
		homes     []HomeState
		want      []gridmesh.W // setpoint NetW by sorted home
		shortfall gridmesh.W
		feasible  bool
	}{
		{"zero target is self-consumption", 0, ab, []gridmesh.W{0, 0}, 0, true},
		{"feasible up, by upward headroom", 3_000, ab, []gridmesh.W{2_000, 1_000}, 0, true},
		{"feasible down, by downward headroom", -4_000, ab, []gridmesh.W{-2_000, -2_000}, 0, true},
		{"feasible up to the limits exactly", 9_000, ab, []gridmesh.W{6_000, 3_000}, 0, true},
		{"infeasible up", 20_000, ab, []gridmesh.W{6_000, 3_000}, 11_000, false},
		{"infeasible down", -20_000, ab, []gridmesh.W{-4_000, -4_000}, -12_000, false},
		{"one home", 1_500, []HomeState{home("x", 500, -3_000, 3_000)}, []gridmesh.W{1_500}, 0, true},
		{"one home, idle battery can't self-consume", 0, []HomeState{home("x", 500, 0, 0)}, []gridmesh.W{500}, -500, false},
		{"empty and full: zero target", 0, []HomeState{home("e", 1_000, 0, 5_000), home("f", -1_000, -5_000, 0)}, []gridmesh.W{1_000, -1_000}, 0, true},
		{"empty and full: up uses the empty one", 500, []HomeState{home("e", 1_000, 0, 5_000), home("f", -1_000, -5_000, 0)}, []gridmesh.W{1_500, -1_000}, 0, true},
		{"empty and full: down uses the full one", -500, []HomeState{home("e", 1_000, 0, 5_000), home("f", -1_000, -5_000, 0)}, []gridmesh.W{1_000, -1_500}, 0, true},
		{"no homes", 700, nil, nil, 700, false},
		{"no homes, zero target", 0, nil, nil, 0, true},
		{"non-finite target is no target", gridmesh.W(math.NaN()), ab, []gridmesh.W{0, 0}, 0, false},
		{"infinite target is no target", gridmesh.W(math.Inf(1)), ab, []gridmesh.W{0, 0}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Dispatch(gridmesh.Target{ImportW: tt.target}, tt.homes)
			got := make([]gridmesh.W, len(res.Setpoints))
			var reach gridmesh.W
			for i, s := range res.Setpoints {
				got[i] = s.NetW
				reach += s.NetW
			}
			if !slices.EqualFunc(got, tt.want, func(a, b gridmesh.W) bool { return math.Abs(float64(a-b)) < 1e-9 }) ||
				math.Abs(float64(res.ShortfallW-tt.shortfall)) > 1e-9 || res.Feasible != tt.feasible || res.ReachW != reach {
				t.Errorf("Dispatch(%v) = %+v, want setpoints %v shortfall %v feasible %v", tt.target, res, tt.want, tt.shortfall, tt.feasible)
			}
		})
	}
}

func TestDispatchCleansInput(t *testing.T) {
	bad := flex(1, 5_000) // range does not contain 0
	homes := []HomeState{
		home("c", 100, -1_000, 1_000),
		{Home: "nan", BaseW: gridmesh.W(math.NaN()), Battery: flex(-1_000, 1_000)},
		{Home: "inf", BaseW: gridmesh.W(math.Inf(-1)), Battery: flex(-1_000, 1_000)},
		{Home: "huge", BaseW: 2 * gridmesh.MaxHomePowerW, Battery: flex(-1_000, 1_000)},
		{Home: "badflex", BaseW: 0, Battery: bad},
		{Home: "bad id!", BaseW: 0, Battery: flex(-1_000, 1_000)},
		home("a", 300, -1_000, 1_000),
		home("a", 200, -1_000, 1_000), // duplicate: the smaller BaseW sorts first and is kept
	}
	res := Dispatch(gridmesh.Target{ImportW: 0}, homes)
	want := []gridmesh.Setpoint{{Home: "a", NetW: 0}, {Home: "c", NetW: 0}}
	if !slices.Equal(res.Setpoints, want) || !res.Feasible {
		t.Fatalf("got %+v, want setpoints %v", res, want)
	}
	res = Dispatch(gridmesh.Target{ImportW: 2_000 + 300}, homes)
	if a := res.Setpoints[0]; a.NetW != 200+1_000 {
		t.Fatalf("duplicate kept the wrong state: %+v", res)
	}
}

// randomNeighborhood draws 0-60 homes with ranges that include empty,
// full and idle batteries, and a target that is sometimes out of reach.
func randomNeighborhood(rng *rand.Rand) (gridmesh.Target, []HomeState) {
	n := rng.IntN(61)
	homes := make([]HomeState, n)
	var base gridmesh.W
	for i := range homes {
		minW := -gridmesh.W(rng.Float64() * 6_000)
		maxW := gridmesh.W(rng.Float64() * 6_000)
		switch rng.IntN(8) {
		case 0:
			minW = 0
		case 1:
			maxW = 0
		}
		homes[i] = home(fmt.Sprintf("h%03d", rng.IntN(2*n)), gridmesh.W((rng.Float64()*2-1)*8_000), minW, maxW)
		base += homes[i].BaseW
	}
	spread := gridmesh.W(float64(n+1) * 8_000 * rng.Float64())
	return gridmesh.Target{ImportW: base + (gridmesh.W(rng.Float64())*2-1)*spread}, homes
}

func TestDispatchProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	var feasible, infeasible int
	for iter := range 3_000 {
		target, homes := randomNeighborhood(rng)
		res := Dispatch(target, homes)

		// One setpoint per distinct home, sorted: a valid plan.
		distinct := map[gridmesh.HomeID]HomeState{}
		for _, h := range homes {
			if old, ok := distinct[h.Home]; !ok || compareHomeStates(h, old) < 0 {
				distinct[h.Home] = h
			}
		}
		if len(res.Setpoints) != len(distinct) {
			t.Fatalf("seed %d iter %d: %d setpoints for %d homes", seed, iter, len(res.Setpoints), len(distinct))
		}
		plan := gridmesh.Plan{Version: gridmesh.WireVersion, Neighborhood: "n", LeaseMs: 1, Target: target, ShortfallW: res.ShortfallW, Setpoints: res.Setpoints}
		if err := plan.Validate(); err != nil {
			t.Fatalf("seed %d iter %d: %v", seed, iter, err)
		}

		// No battery beyond its limits; which limit binds when infeasible.
		var reach, lo, hi gridmesh.W
		atMax, atMin := true, true
		for _, s := range res.Setpoints {
			h := distinct[s.Home]
			b := s.NetW - h.BaseW
			const eps = 1e-9
			if b < h.Battery.MinW-eps || b > h.Battery.MaxW+eps {
				t.Fatalf("seed %d iter %d: %s battery %v outside [%v, %v]", seed, iter, s.Home, b, h.Battery.MinW, h.Battery.MaxW)
			}
			atMax = atMax && math.Abs(float64(b-h.Battery.MaxW)) <= eps
			atMin = atMin && math.Abs(float64(b-h.Battery.MinW)) <= eps
			reach += s.NetW
			lo += h.BaseW + h.Battery.MinW
			hi += h.BaseW + h.Battery.MaxW
		}
		if res.ReachW != reach {
			t.Fatalf("seed %d iter %d: ReachW %v, setpoints sum to %v", seed, iter, res.ReachW, reach)
		}
		tol := 1e-6 * max(1, math.Abs(float64(target.ImportW)))
		if res.Feasible {
			feasible++
			if res.ShortfallW != 0 || math.Abs(float64(reach-target.ImportW)) > tol {
				t.Fatalf("seed %d iter %d: feasible, but reach %v for target %v, shortfall %v", seed, iter, reach, target.ImportW, res.ShortfallW)
			}
		} else {
			infeasible++
			sf := res.ShortfallW
			if math.Abs(float64(sf-(target.ImportW-reach))) > tol ||
				sf > 0 && (!atMax || target.ImportW < hi-gridmesh.W(tol)) ||
				sf < 0 && (!atMin || target.ImportW > lo+gridmesh.W(tol)) || sf == 0 {
				t.Fatalf("seed %d iter %d: infeasible with shortfall %v, target %v, reach %v, range [%v, %v]", seed, iter, sf, target.ImportW, reach, lo, hi)
			}
		}

		// Input order does not matter, duplicates included.
		shuffled := slices.Clone(homes)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again := Dispatch(target, shuffled)
		if !slices.Equal(again.Setpoints, res.Setpoints) || again.ReachW != res.ReachW ||
			again.ShortfallW != res.ShortfallW || again.Feasible != res.Feasible {
			t.Fatalf("seed %d iter %d: order changed the result: %+v vs %+v", seed, iter, again, res)
		}
	}
	t.Logf("%d feasible, %d infeasible neighborhoods", feasible, infeasible)
	if feasible < 300 || infeasible < 300 {
		t.Fatalf("seed %d: the generator covers too little: %d feasible, %d infeasible", seed, feasible, infeasible)
	}
}

func ExampleDispatch() {
	res := Dispatch(gridmesh.Target{ImportW: 3_000}, []HomeState{
		{Home: "b", BaseW: -2_000, Battery: gridmesh.Flexibility{MinW: -2_000, MaxW: 5_000, SoC: 0.5}},
		{Home: "a", BaseW: 1_000, Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: 5_000, SoC: 0.5}},
	})
	for _, s := range res.Setpoints {
		fmt.Println(s.Home, s.NetW)
	}
	fmt.Println("reach", res.ReachW, "feasible", res.Feasible)
	// Output:
	// a 2000W
	// b 1000W
	// reach 3000W feasible true
}
