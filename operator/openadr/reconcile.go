package openadr

import (
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// Steps is what Reconcile asks the bridge to publish: new or changed
// cuts, and withdrawals (zero steps) of cuts no event asks any more.
// Signals are unsigned and without Seq; the bridge's publisher stamps
// them.
type Steps struct {
	Publish  []gridmesh.Signal
	Withdraw []gridmesh.Signal
}

// Reconcile compares the cuts the events ask (intents) with the steps
// the bridge published last, by signal ID (published), at now. An intent
// not yet published, or whose window or amount changed, is published; a
// published cut no intent asks any more, and still in force, is
// withdrawn by a step of zero over the same window. An intent starting
// more than gridmesh.MaxSignalLeadMs ahead waits (homes would refuse
// it). Steps come sorted by ID. It is a pure function of its arguments.
func Reconcile(intents []Intent, published map[string]gridmesh.Signal, now time.Time) Steps {
	var st Steps
	asked := map[string]bool{}
	for _, in := range intents {
		if in.Start.Sub(now) > gridmesh.MaxSignalLeadMs*time.Millisecond || !in.End.After(now) {
			continue
		}
		asked[in.SignalID] = true
		s := gridmesh.Signal{
			ID: in.SignalID, Kind: gridmesh.SignalCutImport,
			StartMs: in.Start.UnixMilli(), EndMs: in.End.UnixMilli(), AmountW: in.AmountW,
		}
		if old, ok := published[in.SignalID]; ok && old.StartMs == s.StartMs && old.EndMs == s.EndMs && old.AmountW == s.AmountW {
			continue
		}
		st.Publish = append(st.Publish, s)
	}
	for id, old := range published {
		if asked[id] || old.AmountW == 0 || now.UnixMilli() >= old.EndMs {
			continue
		}
		w := old
		w.AmountW, w.Seq, w.Signature = 0, 0, nil
		st.Withdraw = append(st.Withdraw, w)
	}
	byID := func(a, b gridmesh.Signal) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	}
	slices.SortFunc(st.Publish, byID)
	slices.SortFunc(st.Withdraw, byID)
	return st
}

// Prune drops from published the steps over at now: nothing more will be
// said about them.
func Prune(published map[string]gridmesh.Signal, now time.Time) {
	for id, s := range published {
		if now.UnixMilli() >= s.EndMs {
			delete(published, id)
		}
	}
}
