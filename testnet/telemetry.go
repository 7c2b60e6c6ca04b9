package testnet

import "time"

// TelemetryReport is how often the homes reported to their
// neighborhoods and what they shed while the machine could not keep up:
// a home reports on a change beyond its deadbands and at least every
// heartbeat, and under overload withholds changes until the heartbeat
// and drops reports the gossip layer has not taken in time for newer
// ones (package node's telemetry publisher).
type TelemetryReport struct {
	// Reports: telemetry reports the homes published, every run of every
	// home.
	Reports uint64 `json:"reports"`
	// Direct: of them, reports sent to the neighborhood's leader on a
	// stream rather than published on the topic.
	Direct uint64 `json:"direct"`
	// DirectReceived: reports the leaders received on streams, and
	// DirectDropped those of them dropped with a leader's inbox full.
	DirectReceived uint64 `json:"direct_received"`
	DirectDropped  uint64 `json:"direct_dropped"`
	// AnnounceWindows: times a peer from outside a home's cluster
	// connected and the home published every report on the topic for a
	// while.
	AnnounceWindows uint64 `json:"announce_windows"`
	// PerHomeS: Reports per home per second, from the first home
	// starting to the end of the run.
	PerHomeS float64 `json:"per_home_s"`
	// Shed: reports replaced by a newer one before the gossip layer took
	// them.
	Shed uint64 `json:"shed"`
	// Withheld: looks at a home's reading (one a period) whose change
	// waited for the heartbeat because the home was thinning.
	Withheld uint64 `json:"withheld"`
	// ThinnedS: time the homes spent thinning, summed over homes, s.
	ThinnedS float64 `json:"thinned_s"`
}

// add counts one home run's counters.
func (t *TelemetryReport) add(c map[string]uint64) {
	t.Reports += c["reports_published"]
	t.Direct += c["reports_direct"]
	t.DirectReceived += c["telemetry_direct_received"]
	t.DirectDropped += c["telemetry_direct_inbox_dropped"]
	t.AnnounceWindows += c["telemetry_announce_windows"]
	t.Shed += c["telemetry_shed"]
	t.Withheld += c["telemetry_withheld"]
	t.ThinnedS += float64(c["telemetry_thinned_ms"]) / 1000
}

// perHome sets PerHomeS for homes over ran.
func (t *TelemetryReport) perHome(homes int, ran time.Duration) {
	if homes > 0 && ran > 0 {
		t.PerHomeS = float64(t.Reports) / float64(homes) / ran.Seconds()
	}
}

// telemetryMeanings are TelemetryReport's lines of figureMeanings.
var telemetryMeanings = map[string]string{
	"telemetry.reports":          "telemetry reports the homes published",
	"telemetry.direct":           "of them, reports sent to the neighborhood's leader on a stream rather than on the topic",
	"telemetry.direct_received":  "reports the leaders received on streams from their members",
	"telemetry.direct_dropped":   "of them, dropped because a leader's inbox was full",
	"telemetry.announce_windows": "times a peer from outside a home's cluster connected and the home published every report on the topic for a while",
	"telemetry.per_home_s":       "telemetry reports per home per second, from the first home starting to the end",
	"telemetry.shed":             "reports dropped for a newer one because the gossip layer had not taken them (overload)",
	"telemetry.withheld":         "looks at a reading whose change waited for the heartbeat: the home was thinning its telemetry (overload)",
	"telemetry.thinned_s":        "time the homes spent thinning their telemetry because the machine could not keep up, summed over homes, s",
}
