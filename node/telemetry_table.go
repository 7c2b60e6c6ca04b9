package node

import (
	"cmp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
)

// telemetryTable holds the newest report of every home of the
// neighborhood.
//
// One owner: the telemetry receiver (receiveTelemetry, one goroutine per
// run of the network) is the table's only writer. Each put builds a new
// snapshot, forgets the homes silent for forgetAfter and publishes the
// snapshot. Every other goroutine (the dispatcher, formation, the
// aggregate publisher) loads the published snapshot and reads it without
// a lock: a snapshot is never modified once published, so one load gives
// a reader one consistent view of the neighborhood for a whole decision.
type telemetryTable struct {
	cur atomic.Pointer[telemetrySnapshot]
}

// telemetrySnapshot is the table at one moment. Immutable once
// published: neither its slice nor the entries it points to change.
type telemetrySnapshot struct {
	entries []*telemetryEntry // sorted by home
}

type telemetryEntry struct {
	t        gridmesh.Telemetry
	from     peer.ID   // the peer that signed the report
	fromID   string    // from's string form, computed once per peer
	received time.Time // newest report
	first    time.Time // first report of this home, for upkeep's choice of voters
}

func newTelemetryTable() *telemetryTable {
	tt := &telemetryTable{}
	tt.cur.Store(&telemetrySnapshot{})
	return tt
}

// load returns the newest snapshot. Take one per decision: two loads may
// differ.
func (tt *telemetryTable) load() *telemetrySnapshot { return tt.cur.Load() }

// forgetAfter is how long a silent home stays in the table: long enough
// for any dispatch to have stopped using it, short enough that the table
// cannot grow without bound as homes come and go.
const forgetAfter = 10 * time.Minute

// put keeps t unless the table holds a newer report of the same home run.
// A restarted home starts its Seq again, so a report much newer in time
// replaces an old one whatever its Seq. It also forgets every home silent
// for forgetAfter. Only the telemetry receiver calls put.
func (tt *telemetryTable) put(t gridmesh.Telemetry, from peer.ID, now time.Time) {
	old := tt.load().entries
	i, found := slices.BinarySearchFunc(old, t.Home, func(e *telemetryEntry, h gridmesh.HomeID) int {
		return cmp.Compare(e.t.Home, h)
	})
	e := &telemetryEntry{t: t, from: from, received: now, first: now}
	rest := old[i:]
	if found {
		prev := old[i]
		if t.Seq <= prev.t.Seq && t.AtMs <= prev.t.AtMs {
			return
		}
		if prev.from == from {
			e.first, e.fromID = prev.first, prev.fromID
		}
		rest = old[i+1:]
	}
	if e.fromID == "" && from != "" {
		e.fromID = from.String() // base58: not for every report
	}
	next := make([]*telemetryEntry, 0, len(old)+1)
	next = appendHeard(next, old[:i], now)
	next = append(next, e)
	next = appendHeard(next, rest, now)
	tt.cur.Store(&telemetrySnapshot{entries: next})
}

// appendHeard appends the entries of homes heard within forgetAfter.
func appendHeard(dst, entries []*telemetryEntry, now time.Time) []*telemetryEntry {
	for _, e := range entries {
		if now.Sub(e.received) <= forgetAfter {
			dst = append(dst, e)
		}
	}
	return dst
}

// freshReports returns every report with a reading heard within maxAge,
// sorted by home: the dispatcher's and island mode's inputs.
func (s *telemetrySnapshot) freshReports(now time.Time, maxAge time.Duration) []gridmesh.Telemetry {
	out := make([]gridmesh.Telemetry, 0, len(s.entries))
	for _, e := range s.entries {
		if now.Sub(e.received) <= maxAge && !e.t.NoReading {
			out = append(out, e.t)
		}
	}
	return out
}

// fresh returns the dispatch inputs of every home heard from within
// maxAge with a reading, sorted by home.
func (s *telemetrySnapshot) fresh(now time.Time, maxAge time.Duration) []control.HomeState {
	return homeStates(s.freshReports(now, maxAge))
}

// homeStates are the dispatch inputs of reports, in their order.
func homeStates(reports []gridmesh.Telemetry) []control.HomeState {
	out := make([]control.HomeState, len(reports))
	for i, t := range reports {
		out[i] = control.HomeState{Home: t.Home, BaseW: t.BaseW, Battery: t.Battery}
	}
	return out
}

// roster returns every home in the snapshot that signed its report, by
// peer, with its freshness: what the formation rules read.
func (s *telemetrySnapshot) roster(now time.Time, maxAge time.Duration) []consensus.RosterEntry {
	out := make([]consensus.RosterEntry, 0, len(s.entries))
	for _, e := range s.entries {
		if e.from == "" {
			continue
		}
		out = append(out, consensus.RosterEntry{
			Peer: e.fromID, Heard: e.received, First: e.first, Fresh: now.Sub(e.received) <= maxAge,
			Cluster: e.t.Cluster, Joined: e.t.Joined, Applied: e.t.Applied, Founder: e.t.Founder, Joining: e.t.Joining,
		})
	}
	slices.SortFunc(out, func(a, b consensus.RosterEntry) int { return strings.Compare(a.Peer, b.Peer) })
	return out
}

// roster is the newest snapshot's roster.
func (tt *telemetryTable) roster(now time.Time, maxAge time.Duration) []consensus.RosterEntry {
	return tt.load().roster(now, maxAge)
}

// fresh is the newest snapshot's fresh.
func (tt *telemetryTable) fresh(now time.Time, maxAge time.Duration) []control.HomeState {
	return tt.load().fresh(now, maxAge)
}
