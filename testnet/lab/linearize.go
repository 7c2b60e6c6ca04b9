package lab

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/gridmesh/gridmesh"
)

// planRegister is the model a neighborhood's plans are checked
// against: one register holding its newest committed plan's epoch. A
// commit writes it; a home applying a plan reads it.
var planRegister = porcupine.Model{
	Init: func() any { return gridmesh.Epoch{} },
	Step: func(state, input, output any) (bool, any) {
		if input != nil { // a commit
			return true, input
		}
		return output.(gridmesh.Epoch) == state.(gridmesh.Epoch), state
	},
	DescribeOperation: func(input, output any) string {
		if input != nil {
			return fmt.Sprintf("commit %v", input)
		}
		return fmt.Sprintf("apply %v", output)
	},
}

// planOps turns one neighborhood's plan events into the register's
// history. Each commit is a write from its call to its return. Each
// home applying a plan is a read from the moment its leader published
// it (no home can apply it earlier) to the moment the home had applied
// it: the history is linearizable iff every plan applied was the
// neighborhood's newest committed plan at some instant between its
// publication and its application. A plan applied whose publication
// the lab never read (its leader killed between the lab's last read of
// its log and the kill) has no start: it is left out and counted in
// unpublished. badOrder counts applies logged before their publication,
// which the shared clock rules out.
func planOps(events []homeEvent) (ops []porcupine.Operation, unpublished, badOrder int) {
	published := map[gridmesh.Epoch]int64{}
	for _, e := range events {
		if e.Kind == "published" {
			if at, ok := published[e.Epoch]; !ok || e.AtNs < at {
				published[e.Epoch] = e.AtNs
			}
		}
	}
	for _, e := range events {
		switch e.Kind {
		case "committed":
			ops = append(ops, porcupine.Operation{ClientId: e.home, Input: e.Epoch, Call: e.BeganNs, Return: e.DoneNs})
		case "applied":
			pub, ok := published[e.Epoch]
			switch {
			case !ok:
				unpublished++
			case pub > e.AppliedNs:
				badOrder++
			default:
				ops = append(ops, porcupine.Operation{ClientId: e.home, Output: e.Epoch, Call: pub, Return: e.AppliedNs})
			}
		}
	}
	return ops, unpublished, badOrder
}

// LinearizabilityReport is the plan history check's outcome.
type LinearizabilityReport struct {
	// Result is porcupine's verdict over every neighborhood: "ok",
	// "illegal", or "unknown" (the check ran out of time).
	Result string `json:"result"`
	// Operations checked: commits (writes) and applies (reads).
	Operations int `json:"operations"`
	Commits    int `json:"commits"`
	Applies    int `json:"applies"`
	// AppliedUnpublished: applies left out, their plan's publication
	// never read (its leader killed before the lab read its log).
	AppliedUnpublished int `json:"applied_unpublished"`
	// AppliedBeforePublished: applies logged before their plan's
	// publication; anything but 0 is a breach (or a clock step).
	AppliedBeforePublished int `json:"applied_before_published"`
	// Reads: plan log answers read; EventsMissed: events homes
	// overwrote before the lab read them (0: the history is whole but
	// for killed homes' last moments).
	Reads        uint64 `json:"reads"`
	EventsMissed uint64 `json:"events_missed"`
	// CheckMs: how long porcupine took.
	CheckMs float64 `json:"check_ms"`
	// Illegal names the neighborhoods whose history is not linearizable.
	Illegal []string `json:"illegal,omitempty"`
}

// checkTimeout bounds porcupine per neighborhood: a one-register
// history of a few thousand operations with little concurrency checks
// in well under a second; a pathological one is reported "unknown".
const checkTimeout = 2 * time.Minute

// check runs porcupine over every neighborhood's history.
func (h *planHistory) check(nbNames []string) LinearizabilityReport {
	r := LinearizabilityReport{Result: "ok", Reads: h.reads, EventsMissed: h.missed}
	start := time.Now()
	for nb, evs := range h.events {
		ops, unpub, bad := planOps(evs)
		r.AppliedUnpublished += unpub
		r.AppliedBeforePublished += bad
		for _, op := range ops {
			if op.Input != nil {
				r.Commits++
			} else {
				r.Applies++
			}
		}
		r.Operations += len(ops)
		switch porcupine.CheckOperationsTimeout(planRegister, ops, checkTimeout) {
		case porcupine.Illegal:
			r.Result = "illegal"
			r.Illegal = append(r.Illegal, nbNames[nb])
		case porcupine.Unknown:
			if r.Result == "ok" {
				r.Result = "unknown"
			}
		}
	}
	if r.AppliedBeforePublished > 0 {
		r.Result = "illegal"
	}
	r.CheckMs = float64(time.Since(start).Microseconds()) / 1000
	return r
}
