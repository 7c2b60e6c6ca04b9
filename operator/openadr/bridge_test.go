package openadr

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
	"github.com/gridmesh/gridmesh/operator/openadr/vtntest"
)

// region is a Publisher that keeps what a home's view would: every step,
// stamped as node.Operator stamps it, and validated.
type region struct {
	mu    sync.Mutex
	seq   uint64
	view  control.RegionView
	steps []gridmesh.Signal
	now   func() time.Time
}

func (r *region) Publish(_ context.Context, s gridmesh.Signal) (gridmesh.Signal, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	s.Seq, s.Version, s.Region = r.seq, gridmesh.WireVersion, "test"
	if err := s.Validate(); err != nil {
		return s, err
	}
	r.steps = append(r.steps, s)
	r.view.Signals = append(r.view.Signals, control.RegionSignal{Signal: s, At: r.now()})
	return s, nil
}

// offset is what neighborhood n1 cuts at now for the view.
func (r *region) offset(now time.Time) gridmesh.W {
	r.mu.Lock()
	defer r.mu.Unlock()
	return control.DecideRegion(r.view, "n1", now).OffsetW
}

// meter says the region delivers its whole cut up to 30 kW and offers
// 50 kW.
type meter struct{}

func (meter) Sample(s gridmesh.Signal, _ time.Time) Sample {
	return Sample{ReductionW: min(s.AmountW, 30_000), OfferedW: 50_000}
}
func (meter) ReadingType() string { return "MEAN" }

type harness struct {
	vtn    *vtntest.VTN
	region *region
	bridge *Bridge
	now    time.Time
}

func newHarness(t *testing.T, secret string) *harness {
	t.Helper()
	h := &harness{vtn: vtntest.New("ven-1", "s3cret"), now: t0}
	t.Cleanup(h.vtn.Close)
	h.region = &region{now: func() time.Time { return h.now }}
	// One neighborhood offering 100 kW for long: the whole cut is its.
	h.region.view.Aggregates = []gridmesh.Aggregate{{Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 1, Index: 1},
		AtMs: t0.UnixMilli(), ForS: gridmesh.MaxAggregateForS, UpW: 100_000, DownW: 100_000, UpWh: 1e6, DownWh: 1e6}}
	cfg := DefaultConfig()
	cfg.VTN, cfg.ClientID, cfg.ClientSecret = h.vtn.URL, "ven-1", secret
	cfg.Convert = ConvertConfig{BaselineImportW: 100_000}
	b, err := New(cfg, h.region, meter{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b.now = func() time.Time { return h.now }
	h.bridge = b
	return h
}

func (h *harness) poll(t *testing.T, at time.Time) {
	t.Helper()
	h.now = at
	// Keep the one aggregate fresh at the time polled.
	h.region.mu.Lock()
	h.region.view.Aggregates[0].AtMs = at.UnixMilli()
	h.region.mu.Unlock()
	if err := h.bridge.Poll(context.Background()); err != nil {
		t.Fatalf("poll at %v: %v", at.Sub(t0), err)
	}
}

func limitEvent(id string, start time.Time, d time.Duration, limitKW float32) oadr3.Event {
	return withUnits(event(id, PayloadImportCapacityLimit, start, d, limitKW), PayloadImportCapacityLimit, "KW")
}

func TestBridgeEventLifecycle(t *testing.T) {
	h := newHarness(t, "s3cret")
	start := t0.Add(time.Minute)
	h.vtn.PutEvent(limitEvent("e1", start, 10*time.Minute, 60))

	h.poll(t, t0)
	if len(h.region.steps) != 1 {
		t.Fatalf("after the first poll: steps %+v, want one", h.region.steps)
	}
	s := h.region.steps[0]
	if s.ID != "oadr-e1-0" || s.AmountW != 40_000 || s.StartMs != start.UnixMilli() || s.EndMs != start.Add(10*time.Minute).UnixMilli() {
		t.Fatalf("signal %+v: want a 40 kW cut over the event's 10 minutes", s)
	}

	h.poll(t, start.Add(time.Minute))
	if len(h.region.steps) != 1 {
		t.Fatalf("an unchanged event was published again: %+v", h.region.steps)
	}
	if got := h.region.offset(start.Add(time.Minute)); got != 40_000 {
		t.Fatalf("offset in force %v, want the 40 kW cut", got)
	}

	h.vtn.PutEvent(limitEvent("e1", start, 10*time.Minute, 50)) // modified: a looser limit
	h.poll(t, start.Add(2*time.Minute))
	if len(h.region.steps) != 2 || h.region.steps[1].AmountW != 50_000 || h.region.steps[1].Seq <= s.Seq {
		t.Fatalf("after a modification: steps %+v, want a newer 50 kW step", h.region.steps)
	}
	if got := h.region.offset(start.Add(2 * time.Minute)); got != 50_000 {
		t.Fatalf("offset after the modification %v, want 50 kW", got)
	}

	h.poll(t, start.Add(10*time.Minute+time.Second)) // the interval is over: report
	reps := h.vtn.Reports()
	if len(reps) != 1 {
		t.Fatalf("reports %+v, want one", reps)
	}
	r := reps[0]
	if r.EventID != "e1" || r.ProgramID != "p1" || r.ClientName != "gridmesh" || len(r.Resources) != 1 || len(r.Resources[0].Intervals) != 1 {
		t.Fatalf("report %+v", r)
	}
	got := map[string]float32{}
	for _, p := range r.Resources[0].Intervals[0].Payloads {
		v, _ := p.Values[0].AsValuesMapValues0()
		got[p.Type] = v
	}
	// Samples at +1 min (40 kW cut) and +2 min (50 kW): the meter
	// delivers 30 kW of each.
	if got[PayloadDeltaUsage] != 30 || got[PayloadLoadShedAvailable] != 50 {
		t.Fatalf("report payloads %v: want DELTA_USAGE 30 kW, LOAD_SHED_DELTA_AVAILABLE 50 kW", got)
	}
}

func TestBridgeWithdrawsACancelledEventWithinOnePoll(t *testing.T) {
	h := newHarness(t, "s3cret")
	h.vtn.PutEvent(limitEvent("e1", t0, 10*time.Minute, 60))
	h.poll(t, t0)
	if got := h.region.offset(t0.Add(time.Second)); got != 40_000 {
		t.Fatalf("offset %v, want 40 kW", got)
	}
	h.vtn.DeleteEvent("e1")
	polls := h.vtn.Polls()
	h.poll(t, t0.Add(2*time.Minute))
	if h.vtn.Polls() != polls+1 {
		t.Fatalf("polls %d, want one more than %d", h.vtn.Polls(), polls)
	}
	last := h.region.steps[len(h.region.steps)-1]
	if len(h.region.steps) != 2 || last.ID != "oadr-e1-0" || last.AmountW != 0 {
		t.Fatalf("steps %+v: want a withdrawal (zero) step of oadr-e1-0", h.region.steps)
	}
	if got := h.region.offset(t0.Add(2*time.Minute + time.Second)); got != 0 {
		t.Fatalf("offset after the withdrawal %v, want 0", got)
	}
	h.poll(t, t0.Add(3*time.Minute))
	if len(h.region.steps) != 2 {
		t.Fatalf("a withdrawn signal was withdrawn again: %+v", h.region.steps)
	}
}

// If the bridge dies, what it published holds in the region to its end:
// nothing in a home's decision waits on it.
func TestSignalsOutliveTheBridge(t *testing.T) {
	h := newHarness(t, "s3cret")
	h.vtn.PutEvent(limitEvent("e1", t0, 10*time.Minute, 60))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.bridge.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for h.vtn.Polls() == 0 || len(h.region.snapshot()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the bridge never published")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	h.vtn.Close() // the VTN is gone too
	for _, tc := range []struct {
		at   time.Duration
		want gridmesh.W
	}{{time.Minute, 40_000}, {9 * time.Minute, 40_000}, {10 * time.Minute, 0}} {
		h.region.mu.Lock()
		h.region.view.Aggregates[0].AtMs = t0.Add(tc.at).UnixMilli()
		h.region.mu.Unlock()
		if got := h.region.offset(t0.Add(tc.at)); got != tc.want {
			t.Errorf("offset at +%v with the bridge gone: %v, want %v", tc.at, got, tc.want)
		}
	}
}

func (r *region) snapshot() []gridmesh.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gridmesh.Signal(nil), r.steps...)
}

func TestBridgeWrongSecretFails(t *testing.T) {
	h := newHarness(t, "wrong")
	h.vtn.PutEvent(limitEvent("e1", t0, 10*time.Minute, 60))
	h.now = t0
	err := h.bridge.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "events") {
		t.Fatalf("Poll with a wrong secret = %v, want an error", err)
	}
	if len(h.region.snapshot()) != 0 || h.vtn.Polls() != 0 {
		t.Fatal("a VEN without a token was answered")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.VTN, ok.ClientID, ok.ClientSecret, ok.Convert.BaselineImportW = "http://127.0.0.1:1", "a", "b", 1
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no url":       func(c *Config) { c.VTN = "" },
		"ftp":          func(c *Config) { c.VTN = "ftp://x" },
		"no secret":    func(c *Config) { c.ClientSecret = "" },
		"no poll":      func(c *Config) { c.PollPeriod = 0 },
		"nothing done": func(c *Config) { c.Convert = ConvertConfig{} },
	} {
		c := ok
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
