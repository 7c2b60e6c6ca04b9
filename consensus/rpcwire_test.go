package consensus

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// wireSamples are one of every RPC and answer, every field set.
func wireSamples() []any {
	h := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("12D3KooWleader"), Addr: []byte("12D3KooWleader")}
	at := time.Unix(1_800_000_000, 123_456_789)
	return []any{
		&raft.AppendEntriesRequest{RPCHeader: h, Term: 7, Leader: []byte("12D3KooWleader")},
		&raft.AppendEntriesRequest{
			RPCHeader: h, Term: 7, Leader: []byte("12D3KooWleader"), PrevLogEntry: 123_455, PrevLogTerm: 6, LeaderCommitIndex: 123_455,
			Entries: []*raft.Log{
				{Index: 123_456, Term: 7, Type: raft.LogCommand, Data: []byte("plan"), Extensions: []byte("x"), AppendedAt: at},
				{Index: 123_457, Term: 7, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte{9}, 3000)},
			},
		},
		&raft.AppendEntriesResponse{RPCHeader: h, Term: 7, LastLog: 123_457, Success: true, NoRetryBackoff: true},
		&raft.RequestVoteRequest{RPCHeader: h, Term: 8, Candidate: []byte("c"), LastLogIndex: 5, LastLogTerm: 4, LeadershipTransfer: true},
		&raft.RequestVoteResponse{RPCHeader: h, Term: 8, Peers: []byte("p"), Granted: true},
		&raft.RequestPreVoteRequest{RPCHeader: h, Term: 9, LastLogIndex: 5, LastLogTerm: 4},
		&raft.RequestPreVoteResponse{RPCHeader: h, Term: 9, Granted: true},
		&raft.InstallSnapshotRequest{
			RPCHeader: h, SnapshotVersion: raft.SnapshotVersionMax, Term: 9, Leader: []byte("l"), LastLogIndex: 1 << 40,
			LastLogTerm: 9, Peers: []byte("p"), Configuration: []byte("conf"), ConfigurationIndex: 3, Size: 1 << 33,
		},
		&raft.InstallSnapshotResponse{RPCHeader: h, Term: 9, Success: true},
		&raft.TimeoutNowRequest{RPCHeader: h},
		&raft.TimeoutNowResponse{RPCHeader: h},
	}
}

// fresh returns a new zero value of v's type.
func fresh(v any) any { return reflect.New(reflect.TypeOf(v).Elem()).Interface() }

func encoded(t testing.TB, v any) []byte {
	t.Helper()
	var w writer
	if err := encodeRPC(&w, v); err != nil {
		t.Fatal(err)
	}
	return w.b
}

func TestRPCWireRoundTrip(t *testing.T) {
	for _, v := range wireSamples() {
		got := fresh(v)
		if err := decodeRPC(&reader{b: encoded(t, v)}, got); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if a, ok := got.(*raft.AppendEntriesRequest); ok {
			// Times come back in the local zone; compare the instants.
			for i, e := range a.Entries {
				if want := v.(*raft.AppendEntriesRequest).Entries[i].AppendedAt; !e.AppendedAt.Equal(want) {
					t.Fatalf("entry %d appended at %v, want %v", i, e.AppendedAt, want)
				}
				e.AppendedAt = v.(*raft.AppendEntriesRequest).Entries[i].AppendedAt
			}
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("round trip of %T:\n got %+v\nwant %+v", v, got, v)
		}
	}
}

// The samples set every field of every RPC raft defines, so the round
// trip above covers them all: a field a newer raft adds, and the codec
// does not carry, fails here rather than vanishing on the wire.
func TestRPCWireSamplesSetEveryField(t *testing.T) {
	set := map[string]bool{}
	for _, v := range wireSamples() {
		markSet(reflect.ValueOf(v).Elem(), reflect.TypeOf(v).Elem().Name(), set)
	}
	for _, v := range wireSamples() {
		for _, f := range fieldPaths(reflect.TypeOf(v).Elem(), reflect.TypeOf(v).Elem().Name()) {
			if !set[f] {
				t.Errorf("no sample sets %s", f)
			}
		}
	}
}

// descend reports whether a field of type typ is a record whose own
// fields are checked, rather than a value checked whole.
func descend(typ reflect.Type) bool {
	return typ.Kind() == reflect.Struct && typ != reflect.TypeOf(time.Time{})
}

// records reports whether a field of type typ is a slice of pointers to
// records, each checked as a record.
func records(typ reflect.Type) bool {
	return typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Pointer && descend(typ.Elem().Elem())
}

// fieldPaths lists the exported fields of typ, by path, through nested
// records.
func fieldPaths(typ reflect.Type, path string) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		p := path + "." + f.Name
		switch {
		case descend(f.Type):
			out = append(out, fieldPaths(f.Type, p)...)
		case records(f.Type):
			out = append(out, fieldPaths(f.Type.Elem().Elem(), p+"[]")...)
		default:
			out = append(out, p)
		}
	}
	return out
}

// markSet records in set the paths of v's fields that are not zero.
func markSet(v reflect.Value, path string, set map[string]bool) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		p, fv := path+"."+f.Name, v.Field(i)
		switch {
		case descend(f.Type):
			markSet(fv, p, set)
		case records(f.Type):
			for j := range fv.Len() {
				markSet(fv.Index(j).Elem(), p+"[]", set)
			}
		default:
			set[p] = set[p] || !fv.IsZero()
		}
	}
}

// A heartbeat is told apart as raft's NetworkTransport tells it: an
// append with a term and leader only.
func TestRPCWireHeartbeat(t *testing.T) {
	s := wireSamples()
	if !isHeartbeat(s[0]) || isHeartbeat(s[1]) || isHeartbeat(s[3]) {
		t.Fatal("heartbeat not told apart from an append or a vote")
	}
	if isHeartbeat(&raft.AppendEntriesRequest{Term: 7}) {
		t.Fatal("an append naming no leader taken for a heartbeat")
	}
}

func TestRPCWireRefusesBadBodies(t *testing.T) {
	app := encoded(t, wireSamples()[1])
	vote := encoded(t, wireSamples()[3])
	for name, c := range map[string]struct {
		body []byte
		into any
	}{
		"empty":               {nil, new(raft.AppendEntriesRequest)},
		"cut short":           {app[:len(app)-1], new(raft.AppendEntriesRequest)},
		"trailing bytes":      {append(bytes.Clone(vote), 0), new(raft.RequestVoteRequest)},
		"boolean of 2":        {append(vote[:len(vote)-1:len(vote)-1], 2), new(raft.RequestVoteRequest)},
		"negative version":    {[]byte{1}, new(raft.TimeoutNowRequest)}, // zigzag 1 is -1
		"string past the end": {[]byte{0, 5, 'a'}, new(raft.TimeoutNowRequest)},
		"more entries than bytes": {func() []byte {
			var w writer
			w.header(raft.RPCHeader{})
			for range 5 {
				w.uint(0)
			}
			w.uint(1000)
			return w.b
		}(), new(raft.AppendEntriesRequest)},
	} {
		if err := decodeRPC(&reader{b: c.body}, c.into); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want errMalformed", name, err)
		}
	}
	if _, err := decodeRequest(answerOK, nil, nil); !errors.Is(err, errMalformed) {
		t.Errorf("an answer's kind decoded as a request: %v", err)
	}
}

func TestRPCWireFrames(t *testing.T) {
	v := wireSamples()[1]
	frame, err := appendFrame(nil, rpcAppendEntries, v)
	if err != nil {
		t.Fatal(err)
	}
	// Two frames back to back, read through a reader that hands out a
	// few bytes at a time.
	kind, body, err := readFrame(io.MultiReader(&dribble{b: frame}, bytes.NewReader(frame)), nil)
	if err != nil || kind != rpcAppendEntries || !bytes.Equal(body, encoded(t, v)) {
		t.Fatalf("readFrame = %d, %d bytes, %v; want the append", kind, len(body), err)
	}
	if _, _, err := readFrame(bytes.NewReader(frame[:len(frame)-1]), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a cut frame read with %v, want io.ErrUnexpectedEOF", err)
	}
	huge := []byte{rpcAppendEntries, 0xff, 0xff, 0xff, 0xff}
	if _, _, err := readFrame(bytes.NewReader(huge), nil); err == nil || !strings.Contains(err.Error(), "above") {
		t.Fatalf("an oversized frame read with %v, want a refusal", err)
	}
}

// dribble hands out its bytes three at a time.
type dribble struct{ b []byte }

func (d *dribble) Read(p []byte) (int, error) {
	if len(d.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 3)], d.b)
	d.b = d.b[n:]
	return n, nil
}

// FuzzDecodeRPC feeds any bytes to the decoder of every kind: it must
// return an error or a value that encodes back to the same bytes.
func FuzzDecodeRPC(f *testing.F) {
	for _, v := range wireSamples() {
		f.Add(encoded(f, v))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range wireSamples() {
			got := fresh(v)
			if err := decodeRPC(&reader{b: body, intern: new([2][]byte)}, got); err != nil {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("%T: error %v does not wrap errMalformed", v, err)
				}
				continue
			}
			if again := encoded(t, got); !bytes.Equal(again, body) {
				t.Fatalf("%T decoded from %x encodes to %x", v, body, again)
			}
		}
		for kind := range byte(8) {
			_, _ = decodeRequest(kind, body, nil)
		}
	})
}
