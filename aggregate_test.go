package gridmesh_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func validAggregate() gridmesh.Aggregate {
	return gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 3, Index: 40},
		AtMs: sigNow.UnixMilli(), ForS: 30, UpW: 40_000, DownW: 25_000, UpWh: 80_000, DownWh: 60_000,
	}
}

func TestAggregateValidate(t *testing.T) {
	if err := validAggregate().Validate(); err != nil {
		t.Fatalf("valid aggregate refused: %v", err)
	}
	nan := gridmesh.W(math.NaN())
	for name, mutate := range map[string]func(*gridmesh.Aggregate){
		"version":           func(a *gridmesh.Aggregate) { a.Version = 2 },
		"bad neighborhood":  func(a *gridmesh.Aggregate) { a.Neighborhood = "" },
		"term 0":            func(a *gridmesh.Aggregate) { a.Epoch = gridmesh.Epoch{} },
		"no time":           func(a *gridmesh.Aggregate) { a.AtMs = 0 },
		"no lifetime":       func(a *gridmesh.Aggregate) { a.ForS = 0 },
		"long lifetime":     func(a *gridmesh.Aggregate) { a.ForS = gridmesh.MaxAggregateForS + 1 },
		"negative up":       func(a *gridmesh.Aggregate) { a.UpW = -1 },
		"nan down":          func(a *gridmesh.Aggregate) { a.DownW = nan },
		"huge up":           func(a *gridmesh.Aggregate) { a.UpW = 2 * gridmesh.MaxNeighborhoodPowerW },
		"negative energy":   func(a *gridmesh.Aggregate) { a.UpWh = -1 },
		"infinite energy":   func(a *gridmesh.Aggregate) { a.DownWh = gridmesh.Wh(math.Inf(1)) },
		"huge down energy":  func(a *gridmesh.Aggregate) { a.DownWh = 2 * gridmesh.MaxNeighborhoodEnergyWh },
		"negative time (!)": func(a *gridmesh.Aggregate) { a.AtMs = -5 },
	} {
		a := validAggregate()
		mutate(&a)
		if err := a.Validate(); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}

func TestAggregateFresh(t *testing.T) {
	a := validAggregate() // at sigNow, for 30 s
	for _, c := range []struct {
		now   time.Time
		fresh bool
	}{
		{sigNow, true},
		{sigNow.Add(29*time.Second + 999*time.Millisecond), true},
		{sigNow.Add(30 * time.Second), false},
		{sigNow.Add(time.Hour), false},
		{sigNow.Add(-gridmesh.AggregateSkew), true},                     // sender's clock 10 s ahead
		{sigNow.Add(-gridmesh.AggregateSkew - time.Millisecond), false}, // further: refused
	} {
		if got := a.Fresh(c.now); got != c.fresh {
			t.Errorf("Fresh(%v) = %v, want %v", c.now.Sub(sigNow), got, c.fresh)
		}
	}
}
