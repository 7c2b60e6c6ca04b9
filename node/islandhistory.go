package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh/control"
)

// The island's forecast history across a change of leader. The rationing
// forecasts from the leader's record of its island (islandHistory); a
// new leader without it falls back on a prior until it has watched a
// day. So the leader commits a summary of it (control.EncodeSummary: the
// newest three days, at most 4.6 KB) to the group's log as an aside
// whenever it has a newer sample, at most every asideEvery, and a home
// that becomes leader adopts the newest summary in the log once in its
// term (control.ForecastHistory.Adopt) before it plans.
//
// The adoption reads this member's state machine and waits for nothing,
// so it stays on the plan's path. A new leader's state machine may not
// yet hold the last summary its predecessor committed: an entry the old
// leader committed last is known committed to the others only with the
// old leader's next append, and a leader killed before it leaves them to
// learn it from the new leader's first commit. So the new leader adopts
// before each plan until its state machine has applied a plan of its own
// term (everything before it is then applied), and after its first
// plan's commit, and only then counts the term's summary adopted. The
// commit waits for a Raft round (up to a second on a loaded machine),
// so it runs after the plan is published, in a goroutine of its own: at
// most one in flight, and a plan that finds one in flight leaves its
// summary to the next plan, which encodes the newest history then.

// asideEvery is the least real time between two summaries a leader
// commits. Why 10 s: a sample comes every quarter hour of device time,
// which at the testnet's speed 600 is 1.5 s; one summary in 10 s keeps
// the log's growth to about 0.5 KB/s there, and in real time (speed 1)
// each quarter hour's sample is committed. A new leader loses at most
// the samples of the last 10 s.
const asideEvery = 10 * time.Second

// islandShare is the state of the summary: adoptedTerm is the dispatch
// goroutine's, the rest is shared with the commit's goroutine.
type islandShare struct {
	adoptedTerm uint64       // the term whose leader (this home) adopted the log's summary
	inFlight    atomic.Bool  // a summary's commit is under way
	sentAtMs    atomic.Int64 // the newest sample the last committed summary held
	sentNs      atomic.Int64 // when it was committed (n.now(), Unix ns; 0: never)
	wg          sync.WaitGroup
}

// adoptIslandHistory, on the leader, adopts the log's summary until its
// state machine has applied a plan of its term (see above). Called from
// the dispatch goroutine before and after it plans.
func (n *Node) adoptIslandHistory() {
	if n.group == nil || !n.group.IsLeader() {
		return
	}
	s := &n.islandShare
	if _, term := n.group.Leader(); term != s.adoptedTerm {
		if e, _, _ := n.group.Latest(); e.Term == term {
			s.adoptedTerm = term // caught up: the newest summary before the term is applied
		}
		if b := n.group.Aside(); b != nil {
			if h, err := control.DecodeSummary(b); err == nil {
				n.islandHistory.Adopt(h)
			} else {
				n.stats.asidesRefused.Add(1)
			}
		}
	}
	if l := n.islandHistory.Load; len(l) > 0 {
		n.stats.islandHistoryFromMs.Store(l[0].AtMs)
	}
}

// shareIslandHistory, on the leader, commits a summary of a newer
// history at most every asideEvery, in a goroutine of its own (at most
// one in flight), after adopting the log's summary if this term has
// not yet (adoptIslandHistory). Called from the dispatch goroutine after the plan;
// dispatch waits for the goroutine before it returns. Errors are
// counted, not returned: a summary is a help to the next leader, never
// a reason to withhold a plan.
func (n *Node) shareIslandHistory(ctx context.Context, now time.Time) {
	if n.group == nil || !n.group.IsLeader() {
		return
	}
	n.adoptIslandHistory()
	s := &n.islandShare
	l := n.islandHistory.Load
	if len(l) == 0 {
		return
	}
	n.stats.islandHistoryFromMs.Store(l[0].AtMs) // the plan may have added the first sample
	if l[len(l)-1].AtMs == s.sentAtMs.Load() {
		return
	}
	if sent := s.sentNs.Load(); sent != 0 && now.Sub(time.Unix(0, sent)) < asideEvery {
		return
	}
	if !s.inFlight.CompareAndSwap(false, true) {
		return // the next plan sends the newest
	}
	body, newest := control.EncodeSummary(&n.islandHistory), l[len(l)-1].AtMs
	s.wg.Go(func() {
		defer s.inFlight.Store(false)
		if err := n.group.CommitAside(ctx, body); err != nil {
			n.stats.asidesFailed.Add(1)
			return
		}
		s.sentAtMs.Store(newest)
		s.sentNs.Store(n.now().UnixNano())
		n.stats.asidesCommitted.Add(1)
	})
}
