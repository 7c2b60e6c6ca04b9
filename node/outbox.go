package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh"
)

// telemetryOutbox holds the one telemetry report waiting for the gossip
// layer. Bound: one report. When full, put replaces the waiting report
// with the newer one (drop the oldest) and says so, for the caller to
// count it as shed: a report is worth only its newest figures, and a
// queue of old ones would only delay them, and the plans the leader
// publishes through the same gossip layer. put never blocks.
//
// One producer (the telemetry sampler) and one consumer (the sender);
// mu guards held, full and putAt.
type telemetryOutbox struct {
	mu    sync.Mutex
	held  gridmesh.Telemetry
	full  bool
	putAt time.Time
	// ready holds a token while a report waits; size 1.
	ready chan struct{}
}

func newTelemetryOutbox() *telemetryOutbox {
	return &telemetryOutbox{ready: make(chan struct{}, 1)}
}

// put leaves t for the sender at now, and reports whether it replaced a
// report the sender had not taken yet.
func (o *telemetryOutbox) put(t gridmesh.Telemetry, now time.Time) (replaced bool) {
	o.mu.Lock()
	replaced = o.full
	o.held, o.full, o.putAt = t, true, now
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default: // a token is waiting already
	}
	return replaced
}

// waiting is how long the report held has waited at now; 0 when none
// waits.
func (o *telemetryOutbox) waiting(now time.Time) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.full {
		return 0
	}
	return now.Sub(o.putAt)
}

// take waits for a report and removes it from the outbox.
func (o *telemetryOutbox) take(ctx context.Context) (gridmesh.Telemetry, error) {
	for {
		select {
		case <-ctx.Done():
			return gridmesh.Telemetry{}, ctx.Err()
		case <-o.ready:
		}
		o.mu.Lock()
		t, full := o.held, o.full
		o.held, o.full = gridmesh.Telemetry{}, false
		o.mu.Unlock()
		if full {
			return t, nil
		}
	}
}

// storeMax raises a to v if v is larger, without a lock: for a figure
// one goroutine raises and another reads and resets with Swap.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
