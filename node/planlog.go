package node

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
)

// planLogSize bounds the plan events a home keeps for GET /plans. Why
// 1024: a leader logs two events a plan (commit, publish) and every home
// one (apply), one plan a PlanPeriod (1 s), so 1024 events are at least
// 8 minutes of history: a poller reading every few seconds misses
// nothing, one that falls further behind is told how many it missed. At
// about 100 bytes an event it costs a home 100 kB.
const planLogSize = 1024

// Plan event kinds.
const (
	// PlanApplied: the device loop accepted a plan and stepped on it.
	PlanApplied = "applied"
	// PlanCommitted: this home, leading, committed a plan to Raft.
	PlanCommitted = "committed"
	// PlanPublished: this home, leading and confirmed as leader after the
	// commit, is about to publish the plan: no home can apply it earlier.
	PlanPublished = "published"
)

// PlanEvent is one plan this home applied, committed or published, as
// GET /plans serves it. Times are the home's wall clock in Unix
// nanoseconds; only the fields of its Kind are set.
type PlanEvent struct {
	// Seq numbers the events of one incarnation (PlanLog.Boot) from 1,
	// without gaps.
	Seq   uint64         `json:"seq"`
	Kind  string         `json:"kind"`
	Epoch gridmesh.Epoch `json:"epoch"`
	// Applied: ReceivedNs when the device loop took the plan off its
	// queue, AppliedNs once it had stepped on it (commanded the battery);
	// IssuedAtMs and LeaseMs are the plan's, which give its expiry.
	ReceivedNs int64  `json:"received_ns,omitempty"`
	AppliedNs  int64  `json:"applied_ns,omitempty"`
	IssuedAtMs int64  `json:"issued_at_ms,omitempty"`
	LeaseMs    uint32 `json:"lease_ms,omitempty"`
	// Committed: the Raft commit's call and return.
	BeganNs int64 `json:"began_ns,omitempty"`
	DoneNs  int64 `json:"done_ns,omitempty"`
	// Published: just before the plan went out on gossip.
	AtNs int64 `json:"at_ns,omitempty"`
}

// PlanLog is GET /plans?since=SEQ's answer: the events after SEQ that
// the home still holds. A poller passes the last Seq it read; when
// Oldest > since+1 the events between were overwritten before it read
// them (it missed Oldest-since-1). Boot changes when the process
// restarts, and Seq starts again at 1.
type PlanLog struct {
	Boot string `json:"boot"`
	// Next is the Seq the next event will get; Oldest the oldest one
	// held (Next when none is).
	Next   uint64      `json:"next"`
	Oldest uint64      `json:"oldest"`
	Events []PlanEvent `json:"events"`
}

// planRing holds the last planLogSize events. Not safe for concurrent
// use: planLog locks it.
type planRing struct {
	buf  []PlanEvent // grows to planLogSize, then wraps
	next uint64      // Seq of the next event; 0 means 1 (the zero ring is empty)
}

// add numbers e and keeps it, overwriting the oldest event when full.
func (r *planRing) add(e PlanEvent) {
	if r.next == 0 {
		r.next = 1
	}
	e.Seq = r.next
	r.next++
	if len(r.buf) < planLogSize {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[(e.Seq-1)%planLogSize] = e
}

// since returns the held events with Seq > seq, oldest first, and the
// oldest Seq held and the next Seq to come.
func (r *planRing) since(seq uint64) (events []PlanEvent, oldest, next uint64) {
	next = max(r.next, 1)
	oldest = next - uint64(len(r.buf))
	from := max(seq+1, oldest)
	for s := from; s < next; s++ {
		events = append(events, r.buf[(s-1)%planLogSize])
	}
	return events, oldest, next
}

// planLog is the home's plan history for GET /plans. The device loop
// (applied) and the dispatcher (committed, published) write it; the
// HTTP handler reads it; mu guards everything.
type planLog struct {
	mu   sync.Mutex
	boot string
	ring planRing
}

// bootID names this process's incarnation: random, so a restart is
// told apart whatever its clock did.
func bootID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func (l *planLog) add(e PlanEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring.add(e)
}

// applied records that the device loop took plan p off its queue at
// received and had stepped on it at done.
func (l *planLog) applied(p gridmesh.Plan, received, done time.Time) {
	l.add(PlanEvent{Kind: PlanApplied, Epoch: p.Epoch, ReceivedNs: received.UnixNano(), AppliedNs: done.UnixNano(), IssuedAtMs: p.IssuedAtMs, LeaseMs: p.LeaseMs})
}

// committed records a Raft commit called at began that returned epoch at done.
func (l *planLog) committed(epoch gridmesh.Epoch, began, done time.Time) {
	l.add(PlanEvent{Kind: PlanCommitted, Epoch: epoch, BeganNs: began.UnixNano(), DoneNs: done.UnixNano()})
}

// published records that the plan of epoch is published at at.
func (l *planLog) published(epoch gridmesh.Epoch, at time.Time) {
	l.add(PlanEvent{Kind: PlanPublished, Epoch: epoch, AtNs: at.UnixNano()})
}

// since returns the events after seq.
func (l *planLog) since(seq uint64) PlanLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.boot == "" {
		l.boot = bootID()
	}
	events, oldest, next := l.ring.since(seq)
	if events == nil {
		events = []PlanEvent{}
	}
	return PlanLog{Boot: l.boot, Next: next, Oldest: oldest, Events: events}
}

// parseSince reads GET /plans's since parameter: absent is 0 (every
// event held).
func parseSince(v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	s, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("since %q: want a sequence number: %w", v, err)
	}
	return s, nil
}

// servePlanLog serves GET /plans?since=SEQ.
func (n *Node) servePlanLog(w http.ResponseWriter, r *http.Request) {
	seq, err := parseSince(r.URL.Query().Get("since"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(n.planLog.since(seq)) // the client went away; nothing to do
}
