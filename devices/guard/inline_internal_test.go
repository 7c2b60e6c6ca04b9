package guard

import (
	"context"
	"errors"
	"testing"

	"github.com/gridmesh/gridmesh"
)

// memMeter is a meter in memory; inMemory says whether it tells the
// guard so (devices.InMemory). fail makes its reads fail.
type memMeter struct {
	inMemory bool
	fail     bool
}

func (m *memMeter) Meter() (gridmesh.MeterReading, error) {
	if m.fail {
		return gridmesh.MeterReading{}, &gridmesh.DeviceError{Op: "read", Retryable: true, Err: errors.New("meter gone")}
	}
	return gridmesh.MeterReading{NetW: 1200, VoltageV: 230, FrequencyHz: 50}, nil
}

func (m *memMeter) InMemory() bool { return m.inMemory }

// An in-memory device is called inline, and its guard keeps a guard's
// behaviour: readings kept, failures counted, the breaker opened after
// FailuresToOpen in a row.
func TestInMemoryDeviceCalledInline(t *testing.T) {
	for _, inMemory := range []bool{false, true} {
		dev := &memMeter{inMemory: inMemory}
		m, err := NewMeter(dev, DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.inline != inMemory {
			t.Fatalf("inMemory %v: guard inline %v", inMemory, m.inline)
		}
		ctx := context.Background()
		m.poll(ctx)
		if r, _, err := m.Read(); err != nil || r.NetW != 1200 {
			t.Fatalf("inMemory %v: reading %+v, %v", inMemory, r, err)
		}
		dev.fail = true
		for range DefaultConfig().FailuresToOpen {
			m.poll(ctx)
		}
		st := m.State()
		if st.Failures != uint64(DefaultConfig().FailuresToOpen) || st.Breaker != "open" {
			t.Errorf("inMemory %v: after failed reads, state %+v; want %d failures and the breaker open", inMemory, st, DefaultConfig().FailuresToOpen)
		}
	}
}

// BenchmarkGuardPoll is one poll of a meter (ten a second per device
// in a home's loop): through a goroutine, a timer and two channels for
// a device that might hang, inline for one in memory.
func BenchmarkGuardPoll(b *testing.B) {
	for _, c := range []struct {
		name     string
		inMemory bool
	}{{"goroutine", false}, {"inline", true}} {
		b.Run(c.name, func(b *testing.B) {
			m, err := NewMeter(&memMeter{inMemory: c.inMemory}, DefaultConfig(), nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				m.poll(ctx)
			}
		})
	}
}
