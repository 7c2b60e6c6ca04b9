package node

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// The outbox holds one report: a newer one replaces one not taken yet
// and says so, the sender takes the newest, and put never waits for it.
func TestTelemetryOutboxDropsTheOldest(t *testing.T) {
	o := newTelemetryOutbox()
	at := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	if o.waiting(at) != 0 {
		t.Error("an empty outbox has a report waiting")
	}
	if o.put(gridmesh.Telemetry{AtMs: 1}, at) {
		t.Error("the first report replaced one")
	}
	for i := int64(2); i <= 5; i++ { // no sender: none of these may block
		if !o.put(gridmesh.Telemetry{AtMs: i}, at.Add(time.Duration(i)*time.Second)) {
			t.Errorf("report %d did not replace the one waiting", i)
		}
	}
	if w := o.waiting(at.Add(7 * time.Second)); w != 2*time.Second {
		t.Errorf("the newest report has waited %v, want 2s", w)
	}
	got, err := o.take(context.Background())
	if err != nil || got.AtMs != 5 {
		t.Fatalf("took report %d (%v), want the newest, 5", got.AtMs, err)
	}
	if o.waiting(at.Add(time.Hour)) != 0 {
		t.Error("a report still waits after the only one was taken")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.take(ctx); err == nil {
		t.Error("take on an empty outbox returned without a report")
	}
}

func TestStoreMaxKeepsTheLargest(t *testing.T) {
	var a atomic.Int64
	for _, v := range []int64{3, 1, 7, 5} {
		storeMax(&a, v)
	}
	if a.Load() != 7 {
		t.Errorf("storeMax kept %d, want 7", a.Load())
	}
}
