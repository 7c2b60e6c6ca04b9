package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
)

// planLogAnswer is a home's GET /plans?since=SEQ answer, decoded from
// the JSON alone: the lab shares no type with the node. Boot names the
// process's incarnation; Seq numbers its events from 1; Oldest is the
// oldest Seq the home still holds, Next the one to come.
type planLogAnswer struct {
	Boot   string      `json:"boot"`
	Next   uint64      `json:"next"`
	Oldest uint64      `json:"oldest"`
	Events []planEvent `json:"events"`
}

// planEvent is one plan a home applied, committed or published; times
// are the home's wall clock in Unix nanoseconds (every home of a lab
// shares the machine's clock).
type planEvent struct {
	Seq        uint64         `json:"seq"`
	Kind       string         `json:"kind"`
	Epoch      gridmesh.Epoch `json:"epoch"`
	ReceivedNs int64          `json:"received_ns"`
	AppliedNs  int64          `json:"applied_ns"`
	IssuedAtMs int64          `json:"issued_at_ms"`
	LeaseMs    uint32         `json:"lease_ms"`
	BeganNs    int64          `json:"began_ns"`
	DoneNs     int64          `json:"done_ns"`
	AtNs       int64          `json:"at_ns"`
}

// maxPlanLog bounds an answer's size: 1024 events of about 200 bytes.
const maxPlanLog = 1 << 20

// decodePlanLog reads an answer and refuses one that breaks its own
// rules: events in Seq order within [Oldest, Next) and after since,
// known kinds, a time for each, intervals that do not run backwards.
func decodePlanLog(r io.Reader, since uint64) (planLogAnswer, error) {
	var a planLogAnswer
	dec := json.NewDecoder(io.LimitReader(r, maxPlanLog))
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("plan log: %w", err)
	}
	if a.Boot == "" || a.Next == 0 || a.Oldest > a.Next {
		return a, fmt.Errorf("plan log: boot %q, oldest %d, next %d", a.Boot, a.Oldest, a.Next)
	}
	prev := since
	for _, e := range a.Events {
		if e.Seq <= prev || e.Seq < a.Oldest || e.Seq >= a.Next {
			return a, fmt.Errorf("plan log: event %d out of order (after %d, held %d..%d)", e.Seq, prev, a.Oldest, a.Next)
		}
		prev = e.Seq
		if err := e.check(); err != nil {
			return a, fmt.Errorf("plan log: event %d: %w", e.Seq, err)
		}
	}
	return a, nil
}

// check tells whether e's times fit its kind.
func (e planEvent) check() error {
	switch e.Kind {
	case "applied":
		if e.ReceivedNs <= 0 || e.AppliedNs < e.ReceivedNs {
			return fmt.Errorf("applied: received %d, applied %d", e.ReceivedNs, e.AppliedNs)
		}
	case "committed":
		if e.BeganNs <= 0 || e.DoneNs < e.BeganNs {
			return fmt.Errorf("committed: began %d, done %d", e.BeganNs, e.DoneNs)
		}
	case "published":
		if e.AtNs <= 0 {
			return errors.New("published: no time")
		}
	default:
		return fmt.Errorf("kind %q", e.Kind)
	}
	return nil
}

// getPlans reads one home's plan log after since.
func (p *poller) getPlans(ctx context.Context, i int, since uint64) (planLogAnswer, error) {
	addr := p.addrs[i]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s:%d/plans?since=%d", addr, statusPort, since), nil)
	if err != nil {
		return planLogAnswer{}, err
	}
	resp, err := p.clients[i].Do(req)
	if err != nil {
		return planLogAnswer{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return planLogAnswer{}, fmt.Errorf("plans %s: %s", addr, resp.Status)
	}
	a, err := decodePlanLog(resp.Body, since)
	if err != nil {
		return a, fmt.Errorf("plans %s: %w", addr, err)
	}
	return a, nil
}

// planHistory gathers every home's plan log across its incarnations: a
// pure fold of answers, whose caller serializes calls.
type planHistory struct {
	nbOf []int
	// cursor is, per home and incarnation (boot), the last Seq read.
	cursor []map[string]uint64
	events [][]homeEvent // per neighborhood
	// Reads counts answers folded; Missed, events a home overwrote
	// before the lab read them.
	reads, missed uint64
}

// homeEvent is an event and the home that logged it.
type homeEvent struct {
	home int
	planEvent
}

func newPlanHistory(nbOf []int, nbs int) *planHistory {
	h := &planHistory{nbOf: nbOf, cursor: make([]map[string]uint64, len(nbOf)), events: make([][]homeEvent, nbs)}
	for i := range h.cursor {
		h.cursor[i] = map[string]uint64{}
	}
	return h
}

// since is the Seq to ask home i's incarnation boot for (0 for one not
// read yet).
func (h *planHistory) since(i int, boot string) uint64 { return h.cursor[i][boot] }

// fold adds home i's answer: events not read before, and how many it
// had overwritten since the last read of the same incarnation.
func (h *planHistory) fold(i int, a planLogAnswer) {
	h.reads++
	cur := h.cursor[i][a.Boot]
	if a.Oldest > cur+1 {
		h.missed += a.Oldest - cur - 1
	}
	for _, e := range a.Events {
		if e.Seq <= cur {
			continue
		}
		cur = e.Seq
		h.events[h.nbOf[i]] = append(h.events[h.nbOf[i]], homeEvent{home: i, planEvent: e})
	}
	h.cursor[i][a.Boot] = cur
}

// planGatherer reads the homes' plan logs into a planHistory. boot is
// the incarnation each home answered last; mu guards it and hist.
type planGatherer struct {
	poll  *poller
	addrs []string
	mu    sync.Mutex
	boot  []string
	hist  *planHistory
}

// gather reads home i's plan log once; a home that does not answer
// (killed, stopped, its link down) is read at a later round. A home
// that answers as a new incarnation is asked again from that one's
// cursor (its start): the first answer skipped its first events.
func (g *planGatherer) gather(ctx context.Context, i int) error {
	g.mu.Lock()
	boot := g.boot[i]
	g.mu.Unlock()
	for range 2 {
		g.mu.Lock()
		since := g.hist.since(i, boot)
		g.mu.Unlock()
		a, err := g.poll.getPlans(ctx, i, since)
		if err != nil {
			return err
		}
		g.mu.Lock()
		if a.Boot == boot || since == g.hist.since(i, a.Boot) {
			g.boot[i] = a.Boot
			g.hist.fold(i, a)
			g.mu.Unlock()
			return nil
		}
		boot = a.Boot
		g.mu.Unlock()
	}
	return fmt.Errorf("plans %s: its incarnation changed twice in one read", g.addrs[i])
}

// gatherAll reads every home's plan log at once.
func (g *planGatherer) gatherAll(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range g.addrs {
		wg.Go(func() { _ = g.gather(ctx, i) }) // unanswered: read at the next round
	}
	wg.Wait()
}

// planPollInterval is how often the lab reads every home's plan log. A
// home holds 1024 events, 8 minutes of a leader's: once a second
// misses nothing, and costs each home one small request a second.
const planPollInterval = time.Second

// planLoop reads every home's plan log every planPollInterval until ctx
// ends.
func (l *lab) planLoop(ctx context.Context) {
	t := time.NewTicker(planPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.plans.gatherAll(ctx)
	}
}
