package node

import (
	"time"

	"github.com/gridmesh/gridmesh"
)

// FeederStatus is the neighborhood's metered import as this home hears
// it: the sum of the net import its homes' meters reported within
// Config.TelemetryMaxAge. Only a home that listens to its neighbors'
// reports hears them (a voter does; see consensus.Listen).
type FeederStatus struct {
	// MeteredW is the sum; absent when no home was heard.
	MeteredW *gridmesh.W `json:"metered_w,omitempty"`
	// HomesHeard counts the reports summed.
	HomesHeard int `json:"homes_heard"`
	// Listening is whether this home is subscribed to the reports now.
	Listening bool `json:"listening"`
}

// feederStatus sums the fresh reports with a reading in the telemetry
// table of the network that is up (nil while it is down).
func (n *Node) feederStatus(now time.Time) *FeederStatus {
	tt := n.table.Load()
	if tt == nil {
		return nil
	}
	f := &FeederStatus{Listening: n.listening.Load()}
	reports := tt.load().freshReports(now, n.cfg.TelemetryMaxAge)
	if len(reports) == 0 {
		return f
	}
	var sum gridmesh.W
	for _, t := range reports {
		sum += t.NetW
	}
	f.MeteredW, f.HomesHeard = &sum, len(reports)
	return f
}
