package gridmesh

import (
	"fmt"
	"time"
)

// Bounds on a neighborhood's figures: a home's bounds times the most homes
// a neighborhood may have, so that no honest aggregate is refused and no
// lying one can overflow a sum over a region.
const (
	// MaxNeighborhoodPowerW bounds an aggregate's power figures.
	MaxNeighborhoodPowerW = MaxHomePowerW * MaxSetpoints
	// MaxNeighborhoodEnergyWh bounds an aggregate's energy figures.
	MaxNeighborhoodEnergyWh = MaxHomeEnergyWh * MaxSetpoints
	// MaxAggregateForS bounds how long an aggregate may claim to hold
	// (10 minutes, as for a plan's lease): a leader that vanished stops
	// counting in the others' splits within that time at the latest.
	MaxAggregateForS = 600
)

// Aggregate is what a neighborhood's leader tells its region it can do
// beyond what it does now, so that every leader can split a regional
// request the same way. Powers and energies are magnitudes (never
// negative).
type Aggregate struct {
	Version      uint16         `cbor:"1,keyasint"`
	Neighborhood NeighborhoodID `cbor:"2,keyasint"`
	// Epoch is the sending leader's Raft term and the index of its last
	// committed plan: of two aggregates for one neighborhood the newer
	// epoch wins, so a deposed leader's figures give way.
	Epoch Epoch `cbor:"3,keyasint"`
	// AtMs is when the figures were computed, in Unix milliseconds.
	AtMs int64 `cbor:"4,keyasint"`
	// ForS is how long after AtMs the figures hold, in seconds; past that
	// the aggregate is stale (see Fresh).
	ForS uint32 `cbor:"5,keyasint"`
	// UpW is how much less the neighborhood can import (or more it can
	// export) than now; DownW how much more it can import.
	UpW   W `cbor:"6,keyasint"`
	DownW W `cbor:"7,keyasint"`
	// UpWh and DownWh are the energy behind UpW and DownW: what its
	// batteries can still deliver and absorb.
	UpWh   Wh `cbor:"8,keyasint"`
	DownWh Wh `cbor:"9,keyasint"`
}

// Validate checks the version, identifier, epoch, lifetime and ranges.
func (a Aggregate) Validate() error {
	if a.Version != WireVersion {
		return fmt.Errorf("%w: aggregate version %d, want %d", ErrInvalid, a.Version, WireVersion)
	}
	if err := a.Neighborhood.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if a.Epoch.Term == 0 {
		return fmt.Errorf("%w: aggregate from term 0: only an elected leader sends one", ErrInvalid)
	}
	if a.AtMs <= 0 || a.ForS == 0 || a.ForS > MaxAggregateForS {
		return fmt.Errorf("%w: aggregate at %d ms for %d s (want a time after 1970, for 1 to %d s)",
			ErrInvalid, a.AtMs, a.ForS, MaxAggregateForS)
	}
	for _, p := range []W{a.UpW, a.DownW} {
		if !p.Finite() || p < 0 || p > MaxNeighborhoodPowerW {
			return fmt.Errorf("%w: aggregate power %v outside [0, %v]", ErrInvalid, p, MaxNeighborhoodPowerW)
		}
	}
	for _, e := range []Wh{a.UpWh, a.DownWh} {
		if !e.Finite() || e < 0 || e > MaxNeighborhoodEnergyWh {
			return fmt.Errorf("%w: aggregate energy %v Wh outside [0, %v]", ErrInvalid, float64(e), float64(MaxNeighborhoodEnergyWh))
		}
	}
	return nil
}

// AggregateSkew is how far in the future an aggregate's AtMs may be and
// still count as fresh (10 s): leaders' clocks differ by far less with
// NTP, and an aggregate from further ahead would otherwise stay fresh too
// long.
const AggregateSkew = 10 * time.Second

// Fresh reports whether the aggregate holds at now: its AtMs is no more
// than AggregateSkew ahead of now and its ForS has not run out.
func (a Aggregate) Fresh(now time.Time) bool {
	at := time.UnixMilli(a.AtMs)
	return !at.After(now.Add(AggregateSkew)) && now.Before(at.Add(time.Duration(a.ForS)*time.Second))
}
