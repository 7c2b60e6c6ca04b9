package control

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// RegulationEnergyHorizon is the window over which a regulation share
// must be sustainable from stored energy (15 minutes). A regulation
// signal swings both ways and is conditioned to be near energy-neutral
// over about that long (PJM's RegD is), so holding a share for the whole
// signal, at full power one way, would ask for far more energy than it
// ever draws.
const RegulationEnergyHorizon = 15 * time.Minute

// Share is one neighborhood's part of a regional request.
type Share struct {
	Neighborhood gridmesh.NeighborhoodID
	// CapacityW is what the neighborhood can give for the rest of the
	// signal: its aggregate's power, limited by its energy over the
	// window (see Allocate).
	CapacityW gridmesh.W
	// W is its share: for a cut, how much less it imports; for
	// regulation, the capacity it follows the signal with, each way.
	W gridmesh.W
}

// Allocation is the split of a regional request among neighborhoods.
type Allocation struct {
	// Shares are sorted by neighborhood, one per neighborhood with a
	// fresh aggregate, shares of 0 included.
	Shares []Share
	// RequestW is the signal's AmountW.
	RequestW gridmesh.W
	// AllocatedW is the sum of the shares.
	AllocatedW gridmesh.W
	// ShortfallW is RequestW - AllocatedW when the neighborhoods together
	// cannot give the request, 0 otherwise.
	ShortfallW gridmesh.W
	// Invalid counts aggregates refused by Validate, Stale those not
	// Fresh at now, Superseded those for a neighborhood with a newer one.
	Invalid, Stale, Superseded int
}

// ShareFor returns the neighborhood's share, if it has one.
func (a Allocation) ShareFor(n gridmesh.NeighborhoodID) (Share, bool) {
	i, ok := slices.BinarySearchFunc(a.Shares, n, func(s Share, n gridmesh.NeighborhoodID) int { return cmp.Compare(s.Neighborhood, n) })
	if !ok {
		return Share{}, false
	}
	return a.Shares[i], true
}

// Allocate splits a verified regional signal among the neighborhoods whose
// aggregates the caller has gathered, with no coordinator: every leader
// that calls it with the same signal, the same aggregates (in any order)
// and the same now gets the same split, bit for bit. It is a pure
// function.
//
// Aggregates that fail Validate or are not Fresh at now are left out, and
// of several for one neighborhood the newest epoch (then the newest AtMs,
// then a total order of every field) is kept. A neighborhood's capacity
// is what it can sustain for the rest of the signal's window, from
// max(now, start) to its end (for regulation, at most
// RegulationEnergyHorizon of it):
//
//	cut:        min(UpW, UpWh / window)
//	regulation: min(UpW, DownW, UpWh / window, DownWh / window)
//
// The request is shared in proportion to capacity, so nobody gets more
// than its capacity and the shares sum to the request (to rounding) when
// the capacities suffice; when they do not, every neighborhood gives its
// whole capacity and the rest is the shortfall.
//
// An invalid signal is refused with an error wrapping gridmesh.ErrInvalid,
// one whose window is over with gridmesh.ErrSignalExpired. Allocate does
// not check the signature: verify it with Signal.Verify first.
//
// Leaders see now through their own clocks: to agree on staleness at the
// edges they should pass a now truncated to their allocation period
// (e.g. now.Truncate(10*time.Second)).
func Allocate(sig gridmesh.Signal, aggs []gridmesh.Aggregate, now time.Time) (Allocation, error) {
	if err := sig.Validate(); err != nil {
		return Allocation{}, fmt.Errorf("control: allocate: %w", err)
	}
	if !now.Before(sig.End()) {
		return Allocation{}, fmt.Errorf("control: allocate: %w: %s ended at %v, now %v", gridmesh.ErrSignalExpired, sig.ID, sig.End(), now)
	}
	from := sig.Start()
	if now.After(from) {
		from = now
	}
	window := sig.End().Sub(from)
	if sig.Kind == gridmesh.SignalRegulation {
		window = min(window, RegulationEnergyHorizon)
	}
	hours := window.Hours()

	res := Allocation{RequestW: sig.AmountW}
	fresh := make([]gridmesh.Aggregate, 0, len(aggs))
	for _, a := range aggs {
		switch {
		case a.Validate() != nil:
			res.Invalid++
		case !a.Fresh(now):
			res.Stale++
		default:
			fresh = append(fresh, a)
		}
	}
	slices.SortFunc(fresh, compareAggregates)
	kept := slices.CompactFunc(fresh, func(a, b gridmesh.Aggregate) bool { return a.Neighborhood == b.Neighborhood })
	res.Superseded = len(fresh) - len(kept)
	if len(kept) == 0 {
		res.ShortfallW = sig.AmountW
		return res, nil
	}

	res.Shares = make([]Share, len(kept))
	var total gridmesh.W
	for i, a := range kept {
		c := min(a.UpW, gridmesh.W(float64(a.UpWh)/hours))
		if sig.Kind == gridmesh.SignalRegulation {
			c = min(c, a.DownW, gridmesh.W(float64(a.DownWh)/hours))
		}
		res.Shares[i] = Share{Neighborhood: a.Neighborhood, CapacityW: c}
		total += c
	}
	for i := range res.Shares {
		s := &res.Shares[i]
		if total <= sig.AmountW {
			s.W = s.CapacityW
		} else {
			s.W = min(sig.AmountW*s.CapacityW/total, s.CapacityW)
		}
		res.AllocatedW += s.W
	}
	if total <= sig.AmountW {
		res.ShortfallW = sig.AmountW - res.AllocatedW
	}
	return res, nil
}

// compareAggregates orders by neighborhood, then newest first (epoch,
// then AtMs), then by every other field, so that sorting gives one order
// whatever the input order and the first of a neighborhood is the one to
// keep.
func compareAggregates(a, b gridmesh.Aggregate) int {
	return cmp.Or(
		cmp.Compare(a.Neighborhood, b.Neighborhood),
		-cmp.Compare(a.Epoch.Term, b.Epoch.Term),
		-cmp.Compare(a.Epoch.Index, b.Epoch.Index),
		-cmp.Compare(a.AtMs, b.AtMs),
		cmp.Compare(a.ForS, b.ForS),
		compareFloat(float64(a.UpW), float64(b.UpW)),
		compareFloat(float64(a.DownW), float64(b.DownW)),
		compareFloat(float64(a.UpWh), float64(b.UpWh)),
		compareFloat(float64(a.DownWh), float64(b.DownWh)),
		cmp.Compare(a.Version, b.Version),
	)
}
