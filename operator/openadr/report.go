package openadr

import (
	"strconv"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

// Report payload types the bridge sends (OpenADR 3.0 Definition, report
// payload types).
const (
	// PayloadDeltaUsage: the import reduction delivered, compared to the
	// baseline, in KW (mean over the interval).
	PayloadDeltaUsage = "DELTA_USAGE"
	// PayloadLoadShedAvailable: the reduction the region offered on top,
	// in KW (mean over the interval).
	PayloadLoadShedAvailable = "LOAD_SHED_DELTA_AVAILABLE"
	// aggregatedResource is the resource name the specification gives a
	// report on more than one resource.
	aggregatedResource = "AGGREGATED_REPORT"
)

// Sample is what a Meter says of one signal at one instant.
type Sample struct {
	// ReductionW is the import reduction the region delivers for the
	// signal.
	ReductionW gridmesh.W
	// OfferedW is the reduction the region offers in all (its fresh
	// aggregates' UpW).
	OfferedW gridmesh.W
}

// Tally is the mean of an interval's samples, kept by the bridge.
type Tally struct {
	N                  int
	ReductionW, OfferW gridmesh.W // sums
}

// Add counts one sample.
func (t Tally) Add(s Sample) Tally {
	return Tally{N: t.N + 1, ReductionW: t.ReductionW + s.ReductionW, OfferW: t.OfferW + s.OfferedW}
}

// BuildReport is the report on one interval of an event the bridge acted
// on: the mean reduction delivered and offered over its samples, in KW,
// from clientName, with readingType saying how the reduction was known
// (e.g. "ESTIMATED" for a split computed from aggregates, "MEAN" for a
// metered one). It is a pure function of its arguments.
func BuildReport(programID string, in Intent, t Tally, clientName, readingType string) oadr3.Report {
	kw := func(sum gridmesh.W) []oadr3.ValuesMap_Values_Item {
		var it oadr3.ValuesMap_Values_Item
		mean := float32(0)
		if t.N > 0 {
			mean = float32(float64(sum) / float64(t.N) / 1000)
		}
		_ = it.FromValuesMapValues0(mean)
		return []oadr3.ValuesMap_Values_Item{it}
	}
	units, mean := "KW", "MEAN"
	name := "gridmesh-" + in.SignalID
	dur := isoDuration(in.End.Sub(in.Start))
	return oadr3.Report{
		ProgramID: programID, EventID: in.EventID, ClientName: clientName, ReportName: &name,
		PayloadDescriptors: &[]oadr3.ReportPayloadDescriptor{
			{PayloadType: PayloadDeltaUsage, Units: &units, ReadingType: &readingType},
			{PayloadType: PayloadLoadShedAvailable, Units: &units, ReadingType: &mean},
		},
		Resources: []struct {
			IntervalPeriod *oadr3.IntervalPeriod `json:"intervalPeriod,omitempty"`
			Intervals      []oadr3.Interval      `json:"intervals"`
			ResourceName   string                `json:"resourceName"`
		}{{
			ResourceName:   aggregatedResource,
			IntervalPeriod: &oadr3.IntervalPeriod{Start: in.Start.UTC().Format(time.RFC3339Nano), Duration: &dur},
			Intervals: []oadr3.Interval{{Id: in.Interval, Payloads: []oadr3.ValuesMap{
				{Type: PayloadDeltaUsage, Values: kw(t.ReductionW)},
				{Type: PayloadLoadShedAvailable, Values: kw(t.OfferW)},
			}}},
		}},
	}
}

// isoDuration writes d as ISO 8601 seconds (PT600S), which ParseDuration
// reads back.
func isoDuration(d time.Duration) string {
	return "PT" + trimFloat(d.Seconds()) + "S"
}

// trimFloat writes v with no trailing zeros.
func trimFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
