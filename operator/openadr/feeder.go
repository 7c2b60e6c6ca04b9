package openadr

import (
	"time"

	"github.com/gridmesh/gridmesh"
)

// FeederMeter is a Meter from a metered import: the reduction delivered
// is BaselineW, the region's import with no cut in force, less what
// ImportW reads now; the reduction offered is Offer's (the gossip's:
// GossipMeter). Convert never keeps two overlapping cuts, so the import
// measured while one is in force is that cut's alone.
type FeederMeter struct {
	BaselineW gridmesh.W
	// ImportW reads the region's metered import (its feeders' sum) now.
	ImportW func() gridmesh.W
	Offer   Meter
}

var _ Meter = FeederMeter{}

// Sample is the baseline less the import now, and Offer's offer.
func (f FeederMeter) Sample(s gridmesh.Signal, now time.Time) Sample {
	return Sample{ReductionW: f.BaselineW - f.ImportW(), OfferedW: f.Offer.Sample(s, now).OfferedW}
}

// ReadingType is MEAN: the report's value is the mean of metered
// readings, one per poll.
func (FeederMeter) ReadingType() string { return "MEAN" }
