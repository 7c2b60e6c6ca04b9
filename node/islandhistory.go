package node

import (
	"context"
	"time"

	"github.com/gridmesh/gridmesh/control"
)

// The island's forecast history across a change of leader. The rationing
// forecasts from the leader's record of its island (islandHistory); a
// new leader without it guesses until it has watched a day, and guesses
// leave no home off for energy. So the leader commits a summary of it
// (control.EncodeSummary: the newest three days, at most 4.6 KB) to the
// group's log as an aside whenever it has a newer sample, at most every
// asideEvery, and a home that becomes leader adopts the newest summary
// in the log once in its term (control.ForecastHistory.Adopt) before it
// plans.

// asideEvery is the least real time between two summaries a leader
// commits. Why 10 s: a sample comes every quarter hour of device time,
// which at the testnet's speed 600 is 1.5 s; one summary in 10 s keeps
// the log's growth to about 0.5 KB/s there, and in real time (speed 1)
// each quarter hour's sample is committed. A new leader loses at most
// the samples of the last 10 s.
const asideEvery = 10 * time.Second

// islandShare is the dispatch goroutine's state of the summary.
type islandShare struct {
	adoptedTerm uint64    // the term whose leader (this home) adopted the log's summary
	sentAtMs    int64     // the newest sample the last committed summary held
	sent        time.Time // when it was committed
}

// shareIslandHistory, on the leader, adopts the log's summary once in
// its term and commits a summary of a newer history at most every
// asideEvery. Errors are counted, not returned: a summary is a help to
// the next leader, never a reason to withhold a plan.
func (n *Node) shareIslandHistory(ctx context.Context, now time.Time) {
	if n.group == nil || !n.group.IsLeader() {
		return
	}
	s := &n.islandShare
	if _, term := n.group.Leader(); term != s.adoptedTerm {
		s.adoptedTerm = term
		if b := n.group.Aside(); b != nil {
			if h, err := control.DecodeSummary(b); err == nil {
				n.islandHistory.Adopt(h)
			} else {
				n.stats.asidesRefused.Add(1)
			}
		}
	}
	l := n.islandHistory.Load
	if len(l) > 0 {
		n.stats.islandHistoryFromMs.Store(l[0].AtMs)
	}
	if len(l) == 0 || l[len(l)-1].AtMs == s.sentAtMs || now.Sub(s.sent) < asideEvery {
		return
	}
	if err := n.group.CommitAside(ctx, control.EncodeSummary(&n.islandHistory)); err != nil {
		n.stats.asidesFailed.Add(1)
		return
	}
	s.sentAtMs, s.sent = l[len(l)-1].AtMs, now
	n.stats.asidesCommitted.Add(1)
}
