package consensus

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/hashicorp/raft"

	"github.com/gridmesh/gridmesh"
)

func planLog(term, index uint64, body string) *raft.Log {
	return &raft.Log{Type: raft.LogCommand, Term: term, Index: index, Data: planCommand([]byte(body))}
}

func TestFSMKeepsNewestPlan(t *testing.T) {
	var f fsm
	for _, l := range []*raft.Log{planLog(1, 3, "a"), planLog(1, 4, "bb"), planLog(2, 7, "ccc")} {
		want := gridmesh.Epoch{Term: l.Term, Index: l.Index}
		if got := f.Apply(l); got != want {
			t.Fatalf("Apply(%d/%d) = %v, want %v", l.Term, l.Index, got, want)
		}
	}
	e, body, n := f.latest()
	if e != (gridmesh.Epoch{Term: 2, Index: 7}) || string(body) != "ccc" || n != 3 {
		t.Fatalf("latest = %v %q %d, want 2/7 \"ccc\" 3", e, body, n)
	}
	body[0] = 'x'
	if _, again, _ := f.latest(); string(again) != "ccc" {
		t.Fatalf("latest shares its body with the caller: now %q", again)
	}
}

func asideLog(term, index uint64, body []byte) *raft.Log {
	return &raft.Log{Type: raft.LogCommand, Term: term, Index: index, Data: append([]byte{cmdAside}, body...)}
}

// The FSM keeps the newest aside beside the plans, refuses an empty or
// oversized one, and a snapshot carries it.
func TestFSMKeepsNewestAside(t *testing.T) {
	var f fsm
	f.Apply(asideLog(1, 1, []byte("first")))
	f.Apply(planLog(1, 2, "a"))
	f.Apply(asideLog(1, 3, []byte("second")))
	f.Apply(planLog(1, 4, "b"))
	for name, l := range map[string]*raft.Log{"empty": asideLog(1, 5, nil), "oversized": asideLog(1, 5, make([]byte, MaxAsideBytes+1))} {
		if resp, ok := f.Apply(l).(error); !ok || !errors.Is(resp, errBadCommand) {
			t.Errorf("%s aside: response %v, want errBadCommand", name, resp)
		}
	}
	if got := f.asideBody(); string(got) != "second" {
		t.Fatalf("aside %q, want the newest, \"second\"", got)
	}
	if e, body, n := f.latest(); string(body) != "b" || n != 2 || e.Index != 4 {
		t.Fatalf("asides disturbed the plans: %v %q %d", e, body, n)
	}
	var dst fsm
	if err := dst.Restore(io.NopCloser(bytes.NewReader(snapshotOf(t, &f)))); err != nil {
		t.Fatal(err)
	}
	if got := dst.asideBody(); string(got) != "second" {
		t.Fatalf("restored aside %q, want \"second\"", got)
	}
}

func TestFSMRefusesUnknownEntries(t *testing.T) {
	var f fsm
	f.Apply(planLog(1, 1, "a"))
	for name, data := range map[string][]byte{
		"empty":        nil,
		"no body":      {cmdPlan},
		"unknown kind": {9, 1, 2},
		"oversized":    planCommand(make([]byte, MaxPlanBytes+1)),
	} {
		resp := f.Apply(&raft.Log{Type: raft.LogCommand, Term: 1, Index: 2, Data: data})
		if err, ok := resp.(error); !ok || !errors.Is(err, errBadCommand) {
			t.Errorf("%s: response %v, want errBadCommand", name, resp)
		}
	}
	if e, body, n := f.latest(); e != (gridmesh.Epoch{Term: 1, Index: 1}) || string(body) != "a" || n != 1 {
		t.Fatalf("state changed by refused entries: %v %q %d", e, body, n)
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	cancelled, closed bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

func snapshotOf(t *testing.T, f *fsm) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil || !sink.closed || sink.cancelled {
		t.Fatalf("Persist: %v (closed %v, cancelled %v)", err, sink.closed, sink.cancelled)
	}
	snap.Release()
	return sink.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	for name, logs := range map[string][]*raft.Log{
		"empty":      nil,
		"one plan":   {planLog(1, 2, "plan")},
		"many plans": {planLog(1, 2, "a"), planLog(3, 9, "b"), planLog(3, 10, string(make([]byte, 4096)))},
	} {
		t.Run(name, func(t *testing.T) {
			var src fsm
			for _, l := range logs {
				src.Apply(l)
			}
			b := snapshotOf(t, &src)
			if again := snapshotOf(t, &src); !bytes.Equal(b, again) {
				t.Fatal("snapshot encoding is not deterministic")
			}
			dst := fsm{state: planState{epoch: gridmesh.Epoch{Term: 9, Index: 99}, body: []byte("old"), committed: 50}}
			if err := dst.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			we, wb, wn := src.latest()
			ge, gb, gn := dst.latest()
			if we != ge || !bytes.Equal(wb, gb) || wn != gn {
				t.Fatalf("restored %v %q %d, want %v %q %d", ge, gb, gn, we, wb, wn)
			}
		})
	}
}

func TestDecodeSnapshotRefusesBadInput(t *testing.T) {
	enc := func(v any) []byte {
		b, err := snapshotEnc.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := snapshotWire{Version: snapshotVersion, Epoch: gridmesh.Epoch{Term: 2, Index: 5}, Committed: 3, Body: []byte("p")}
	with := func(mod func(*snapshotWire)) []byte { w := good; mod(&w); return enc(w) }
	for name, b := range map[string][]byte{
		"empty":            nil,
		"not cbor":         []byte{0xff, 0x00},
		"wrong version":    with(func(w *snapshotWire) { w.Version = 2 }),
		"trailing bytes":   append(enc(good), 0x00),
		"unknown field":    enc(map[int]any{1: 1, 2: good.Epoch, 3: 3, 4: []byte("p"), 5: 0}),
		"duplicate key":    {0xa2, 0x01, 0x01, 0x01, 0x01},
		"indefinite map":   {0xbf, 0x01, 0x01, 0xff},
		"body, no plans":   with(func(w *snapshotWire) { w.Committed = 0; w.Epoch = gridmesh.Epoch{} }),
		"epoch, no plans":  with(func(w *snapshotWire) { w.Committed = 0; w.Body = nil }),
		"plans, no body":   with(func(w *snapshotWire) { w.Body = nil }),
		"term zero":        with(func(w *snapshotWire) { w.Epoch.Term = 0 }),
		"count past index": with(func(w *snapshotWire) { w.Committed = 6 }),
		"oversized":        with(func(w *snapshotWire) { w.Body = make([]byte, maxSnapshotBytes) }),
	} {
		if _, err := decodeSnapshot(bytes.NewReader(b)); !errors.Is(err, errBadSnapshot) {
			t.Errorf("%s: %v, want errBadSnapshot", name, err)
		}
	}
	if _, err := decodeSnapshot(bytes.NewReader(enc(good))); err != nil {
		t.Fatalf("good snapshot refused: %v", err)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	for _, s := range []planState{
		{},
		{epoch: gridmesh.Epoch{Term: 1, Index: 2}, body: []byte("plan"), committed: 1},
		{epoch: gridmesh.Epoch{Term: 7, Index: 1 << 40}, body: bytes.Repeat([]byte{0xa5}, 300), committed: 1 << 39},
		{cluster: "0001-a", revoked: []gridmesh.Revocation{revocation(f, "pa"), revocation(f, "pb")}},
		{epoch: gridmesh.Epoch{Term: 1, Index: 2}, body: []byte("plan"), committed: 1, aside: []byte{1, 0, 0}},
	} {
		b, err := encodeSnapshot(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xbf, 0x01, 0x01, 0xff})
	deep, _ := cbor.Marshal([]any{[]any{[]any{[]any{[]any{1}}}}})
	f.Add(deep)

	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSnapshot(bytes.NewReader(b))
		if err != nil {
			return
		}
		again, err := encodeSnapshot(s)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		s2, err := decodeSnapshot(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("re-encoded snapshot refused: %v", err)
		}
		if s2.epoch != s.epoch || !bytes.Equal(s2.body, s.body) || s2.committed != s.committed || len(s2.revoked) != len(s.revoked) {
			t.Fatalf("round trip changed the state: %+v → %+v", s, s2)
		}
	})
}
