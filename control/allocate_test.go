package control

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// cut is a valid signal asking for amountW less import over [start,
// start+d).
func cut(amountW gridmesh.W, start time.Time, d time.Duration) gridmesh.Signal {
	return gridmesh.Signal{
		Version: gridmesh.WireVersion, ID: "dr-1", Kind: gridmesh.SignalCutImport, Region: "r",
		StartMs: start.UnixMilli(), EndMs: start.Add(d).UnixMilli(), AmountW: amountW, Seq: 1,
	}
}

func agg(n string, upW, downW gridmesh.W, upWh, downWh gridmesh.Wh) gridmesh.Aggregate {
	return gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: gridmesh.NeighborhoodID(n), Epoch: gridmesh.Epoch{Term: 1, Index: 1},
		AtMs: t0.UnixMilli(), ForS: 30, UpW: upW, DownW: downW, UpWh: upWh, DownWh: downWh,
	}
}

func TestAllocate(t *testing.T) {
	// a can give 40 kW for an hour; b 20 kW but only 10 kWh; c 50 kW.
	abc := []gridmesh.Aggregate{
		agg("c", 50_000, 10_000, 200_000, 5_000),
		agg("a", 40_000, 25_000, 80_000, 60_000),
		agg("b", 20_000, 20_000, 10_000, 40_000),
	}
	reg := cut(0, t0, time.Hour)
	reg.Kind = gridmesh.SignalRegulation
	tests := []struct {
		name      string
		sig       gridmesh.Signal
		now       time.Time
		aggs      []gridmesh.Aggregate
		capacity  []gridmesh.W // by sorted neighborhood
		want      []gridmesh.W
		shortfall gridmesh.W
	}{
		{"in proportion to capacity (b energy-limited)", cut(30_000, t0, time.Hour), t0, abc,
			[]gridmesh.W{40_000, 10_000, 50_000}, []gridmesh.W{12_000, 3_000, 15_000}, 0},
		{"exactly the total", cut(100_000, t0, time.Hour), t0, abc,
			[]gridmesh.W{40_000, 10_000, 50_000}, []gridmesh.W{40_000, 10_000, 50_000}, 0},
		{"short: everyone gives all", cut(150_000, t0, time.Hour), t0, abc,
			[]gridmesh.W{40_000, 10_000, 50_000}, []gridmesh.W{40_000, 10_000, 50_000}, 50_000},
		{"half way through: half an hour left to sustain", cut(30_000, t0.Add(-30*time.Minute), time.Hour), t0, abc,
			[]gridmesh.W{40_000, 20_000, 50_000}, []gridmesh.W{30_000 * 4.0 / 11, 30_000 * 2.0 / 11, 30_000 * 5.0 / 11}, 0},
		{"announced ahead: the whole window counts", cut(30_000, t0.Add(time.Hour), 2*time.Hour), t0, abc,
			[]gridmesh.W{40_000, 5_000, 50_000}, []gridmesh.W{30_000 * 40.0 / 95, 30_000 * 5.0 / 95, 30_000 * 50.0 / 95}, 0},
		// Regulation sustains 15 minutes each way: a min(40, 25, 320,
		// 240) = 25 kW, b min(20, 20, 40, 160) = 20 kW, c min(50, 10,
		// 800, 20) = 10 kW.
		{"regulation: the lesser direction, over 15 minutes", func() gridmesh.Signal { s := reg; s.AmountW = 11_000; return s }(), t0, abc,
			[]gridmesh.W{25_000, 20_000, 10_000}, []gridmesh.W{5_000, 4_000, 2_000}, 0},
		{"nobody", cut(30_000, t0, time.Hour), t0, nil, nil, nil, 30_000},
		{"nobody with anything to give", cut(30_000, t0, time.Hour), t0, []gridmesh.Aggregate{agg("a", 0, 5, 0, 5)},
			[]gridmesh.W{0}, []gridmesh.W{0}, 30_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Allocate(tt.sig, tt.aggs, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Shares) != len(tt.want) {
				t.Fatalf("%d shares, want %d: %+v", len(res.Shares), len(tt.want), res)
			}
			var sum gridmesh.W
			for i, s := range res.Shares {
				if !near(s.CapacityW, tt.capacity[i]) || !near(s.W, tt.want[i]) {
					t.Errorf("%s: %+v, want capacity %v share %v", s.Neighborhood, s, tt.capacity[i], tt.want[i])
				}
				sum += s.W
			}
			if !near(res.ShortfallW, tt.shortfall) || res.AllocatedW != sum || res.RequestW != tt.sig.AmountW {
				t.Errorf("allocation %+v, want shortfall %v and allocated %v", res, tt.shortfall, sum)
			}
		})
	}
}

func TestAllocateLeavesOut(t *testing.T) {
	old := agg("a", 10_000, 0, 10_000, 0)
	newer := old
	newer.Epoch, newer.UpW = gridmesh.Epoch{Term: 2, Index: 1}, 30_000 // a new leader's figures win
	sameEpochLater := agg("b", 10_000, 0, 100_000, 0)
	sameEpochLater.AtMs += 1_000
	sameEpochEarlier := agg("b", 99_000, 0, 100_000, 0)
	stale := agg("c", 10_000, 0, 100_000, 0)
	stale.AtMs = t0.Add(-time.Minute).UnixMilli()
	future := agg("d", 10_000, 0, 100_000, 0)
	future.AtMs = t0.Add(time.Minute).UnixMilli()
	invalid := agg("e", -1, 0, 100_000, 0)
	res, err := Allocate(cut(1_000_000, t0, time.Hour), []gridmesh.Aggregate{old, stale, newer, invalid, sameEpochEarlier, future, sameEpochLater}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Share{{Neighborhood: "a", CapacityW: 10_000, W: 10_000}, {Neighborhood: "b", CapacityW: 10_000, W: 10_000}}
	if !slices.Equal(res.Shares, want) || res.Invalid != 1 || res.Stale != 2 || res.Superseded != 2 {
		t.Fatalf("got %+v, want shares %+v, 1 invalid, 2 stale, 2 superseded", res, want)
	}
	if res.Shares[0].CapacityW != 10_000 { // newer's 30 kW is capped by its 10 kWh over the hour
		t.Fatalf("newer epoch not kept: %+v", res.Shares[0])
	}
	if s, ok := res.ShareFor("b"); !ok || s.W != 10_000 {
		t.Errorf("ShareFor(b) = %+v, %v", s, ok)
	}
	if _, ok := res.ShareFor("c"); ok {
		t.Errorf("ShareFor(c) found a stale neighborhood")
	}
}

func TestAllocateRefuses(t *testing.T) {
	aggs := []gridmesh.Aggregate{agg("a", 1_000, 1_000, 1_000, 1_000)}
	if _, err := Allocate(cut(1_000, t0.Add(-time.Hour), time.Hour), aggs, t0); !errors.Is(err, gridmesh.ErrSignalExpired) {
		t.Errorf("ended signal: %v", err)
	}
	bad := cut(1_000, t0, time.Hour)
	bad.AmountW = gridmesh.W(math.NaN())
	if _, err := Allocate(bad, aggs, t0); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("invalid signal: %v", err)
	}
}

// TestAllocateProperties: random views split among random leaders. Every
// leader computes the same split from the same view in any order; shares
// sum to the request when the capacities suffice; nobody goes beyond its
// capacity, nor its aggregate's power; shortfall is what is missing.
func TestAllocateProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 13))
	var feasible, short int
	for iter := range 2_000 {
		n := rng.IntN(30)
		aggs := make([]gridmesh.Aggregate, n)
		for i := range aggs {
			a := agg(fmt.Sprintf("n%02d", rng.IntN(n+1)), gridmesh.W(rng.Float64()*200_000), gridmesh.W(rng.Float64()*200_000),
				gridmesh.Wh(rng.Float64()*400_000), gridmesh.Wh(rng.Float64()*400_000))
			a.Epoch = gridmesh.Epoch{Term: uint64(1 + rng.IntN(3)), Index: uint64(rng.IntN(5))}
			a.AtMs -= rng.Int64N(40_000)
			if rng.IntN(10) == 0 {
				a.UpW = 0
			}
			aggs[i] = a
		}
		sig := cut(gridmesh.W(1+rng.Float64()*float64(n+1)*100_000), t0.Add(time.Duration(rng.IntN(7_200)-3_600)*time.Second), time.Duration(1+rng.IntN(7_200))*time.Second)
		if rng.IntN(3) == 0 {
			sig.Kind = gridmesh.SignalRegulation
		}
		if !t0.Before(sig.End()) {
			continue
		}
		res, err := Allocate(sig, aggs, t0)
		if err != nil {
			t.Fatalf("seed %d iter %d: %v", seed, iter, err)
		}
		var sum gridmesh.W
		for _, s := range res.Shares {
			if s.W < 0 || s.W > s.CapacityW || !s.W.Finite() {
				t.Fatalf("seed %d iter %d: %+v beyond its capacity", seed, iter, s)
			}
			sum += s.W
		}
		if !slices.IsSortedFunc(res.Shares, func(a, b Share) int {
			return compareIDs(gridmesh.HomeID(a.Neighborhood), gridmesh.HomeID(b.Neighborhood))
		}) {
			t.Fatalf("seed %d iter %d: shares not sorted", seed, iter)
		}
		newest := map[gridmesh.NeighborhoodID]gridmesh.Aggregate{}
		for _, a := range aggs {
			if old, ok := newest[a.Neighborhood]; a.Fresh(t0) && (!ok || compareAggregates(a, old) < 0) {
				newest[a.Neighborhood] = a
			}
		}
		if len(newest) != len(res.Shares) {
			t.Fatalf("seed %d iter %d: %d shares for %d fresh neighborhoods", seed, iter, len(res.Shares), len(newest))
		}
		for _, s := range res.Shares {
			a := newest[s.Neighborhood]
			if s.CapacityW > a.UpW || sig.Kind == gridmesh.SignalRegulation && s.CapacityW > a.DownW {
				t.Fatalf("seed %d iter %d: %+v beyond its newest aggregate %+v", seed, iter, s, a)
			}
		}
		tol := 1e-9 * float64(sig.AmountW)
		if res.ShortfallW == 0 {
			feasible++
			if math.Abs(float64(sum-sig.AmountW)) > tol {
				t.Fatalf("seed %d iter %d: feasible, shares sum to %v for %v", seed, iter, sum, sig.AmountW)
			}
		} else {
			short++
			if math.Abs(float64(res.ShortfallW-(sig.AmountW-sum))) > tol || res.ShortfallW < 0 {
				t.Fatalf("seed %d iter %d: shortfall %v, request %v, allocated %v", seed, iter, res.ShortfallW, sig.AmountW, sum)
			}
			for _, s := range res.Shares {
				if s.W != s.CapacityW {
					t.Fatalf("seed %d iter %d: short, yet %+v keeps some back", seed, iter, s)
				}
			}
		}
		if res.Invalid+res.Stale+res.Superseded+len(res.Shares) != n {
			t.Fatalf("seed %d iter %d: %d aggregates, %+v", seed, iter, n, res)
		}
		// Three more leaders, each with the view in its own order.
		for range 3 {
			view := slices.Clone(aggs)
			rng.Shuffle(len(view), func(i, j int) { view[i], view[j] = view[j], view[i] })
			again, _ := Allocate(sig, view, t0)
			if !reflect.DeepEqual(again, res) {
				t.Fatalf("seed %d iter %d: another leader split differently:\n%+v\n%+v", seed, iter, again, res)
			}
		}
	}
	t.Logf("%d feasible, %d short", feasible, short)
	if feasible < 200 || short < 200 {
		t.Fatalf("seed %d: the generator covers too little", seed)
	}
}

func ExampleAllocate() {
	now := time.Date(2026, 1, 15, 17, 0, 0, 0, time.UTC)
	sig := gridmesh.Signal{Version: gridmesh.WireVersion, ID: "evening-peak", Kind: gridmesh.SignalCutImport, Region: "north",
		StartMs: now.UnixMilli(), EndMs: now.Add(2 * time.Hour).UnixMilli(), AmountW: 60_000, Seq: 1}
	at := now.Add(-5 * time.Second).UnixMilli()
	res, _ := Allocate(sig, []gridmesh.Aggregate{
		{Version: 1, Neighborhood: "oak-street", Epoch: gridmesh.Epoch{Term: 4, Index: 120}, AtMs: at, ForS: 30, UpW: 50_000, UpWh: 200_000},
		{Version: 1, Neighborhood: "elm-street", Epoch: gridmesh.Epoch{Term: 2, Index: 75}, AtMs: at, ForS: 30, UpW: 50_000, UpWh: 40_000},
	}, now)
	for _, s := range res.Shares {
		fmt.Println(s.Neighborhood, "can give", s.CapacityW, "gives", s.W)
	}
	fmt.Println("shortfall", res.ShortfallW)
	// Output:
	// elm-street can give 20.0kW gives 17.1kW
	// oak-street can give 50.0kW gives 42.9kW
	// shortfall 0W
}
