package consensus

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

// The Raft RPC wire format of rpcTransport. Every message is a frame: a
// kind byte, the body's length as a 4-byte big-endian integer, then the
// body. A request's kind is its RPC (rpcAppendEntries, …); an answer's
// is answerOK, whose body is the response, or answerError, whose body is
// raft's error text. Bodies are the structs' fields in declaration order:
// integers as uvarints (signed ones zigzag varints), byte strings and
// lists as a uvarint length then their contents, booleans as one byte 0
// or 1, times as Unix nanoseconds (0 for the zero time). A decoder
// refuses unknown kinds, short or oversized bodies, trailing bytes,
// booleans other than 0 or 1, integers not in their shortest form and
// out-of-range values, with an error: a body decodes to one value, which
// encodes back to the same bytes.
//
// Why not raft's msgpack: go-msgpack reflects over every struct at every
// RPC and allocates as it goes; an idle neighborhood's leader sends about
// 33 heartbeats a second to every follower, so the codec was a visible
// part of a city's CPU. This one appends into one buffer per stream.
const (
	rpcAppendEntries byte = iota + 1
	rpcRequestVote
	rpcRequestPreVote
	rpcInstallSnapshot
	rpcTimeoutNow

	answerOK    byte = 0x80
	answerError byte = 0x81
)

// frameHeaderLen is the kind byte and the body's length.
const frameHeaderLen = 5

// maxAppendEntries is raft's MaxAppendEntries (its default, set
// explicitly because maxFrameBytes follows from it).
const maxAppendEntries = 64

// maxFrameBytes bounds a frame's body: an append of maxAppendEntries
// entries of at most MaxPlanBytes each, with room for their fields. A
// body's buffer grows only as its bytes arrive (readFrame), so a peer
// that announces a large frame and sends nothing costs nothing.
const maxFrameBytes = maxAppendEntries*(MaxPlanBytes+1024) + 4096

// readChunk is how much of a large body readFrame reads, and grows its
// buffer by, at a time.
const readChunk = 64 << 10

// errMalformed wraps every decoding error.
var errMalformed = errors.New("malformed raft RPC")

// writer appends a body.
type writer struct{ b []byte }

func (w *writer) uint(v uint64)    { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) int(v int64)      { w.b = binary.AppendVarint(w.b, v) }
func (w *writer) bytes(v []byte)   { w.uint(uint64(len(v))); w.b = append(w.b, v...) }
func (w *writer) bool(v bool)      { w.b = append(w.b, boolByte(v)) }
func (w *writer) time(t time.Time) { w.int(unixNano(t)) }

func (w *writer) header(h raft.RPCHeader) {
	w.int(int64(h.ProtocolVersion))
	w.bytes(h.ID)
	w.bytes(h.Addr)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// reader decodes a body; its first error sticks and later reads return
// zero values. intern, when set, holds the last header ID and Addr the
// stream carried: an equal one is returned as that slice, not copied
// again (raft only reads them).
type reader struct {
	b      []byte
	err    error
	intern *[2][]byte
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errMalformed, what)
	}
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != uvarintLen(v) {
		r.fail("bad unsigned integer")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 || n != uvarintLen(uint64(v<<1)^uint64(v>>63)) {
		r.fail("bad signed integer")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// uvarintLen is the length of v's shortest uvarint: the decoder
// refuses longer ones, so every value has one encoding.
func uvarintLen(v uint64) int { return max(1, (bits.Len64(v)+6)/7) }

// view returns the next byte string without copying it, or nil.
func (r *reader) view() []byte {
	n := r.uint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("byte string longer than the body")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// bytes returns a copy of the next byte string; an empty one is nil.
func (r *reader) bytes() []byte {
	v := r.view()
	if len(v) == 0 {
		return nil
	}
	return bytes.Clone(v)
}

// interned returns the next byte string, as the slot's slice when equal.
func (r *reader) interned(slot int) []byte {
	if r.intern == nil {
		return r.bytes()
	}
	v := r.view()
	if len(v) == 0 {
		return nil
	}
	if !bytes.Equal(v, r.intern[slot]) {
		r.intern[slot] = bytes.Clone(v)
	}
	return r.intern[slot]
}

func (r *reader) bool() bool {
	if r.err != nil {
		return false
	}
	if len(r.b) == 0 || r.b[0] > 1 {
		r.fail("bad boolean")
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

func (r *reader) time() time.Time {
	ns := r.int()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// small reads a non-negative integer of at most limit.
func (r *reader) small(limit int64, what string) int64 {
	v := r.int()
	if v < 0 || v > limit {
		r.fail(what + " out of range")
		return 0
	}
	return v
}

func (r *reader) header() raft.RPCHeader {
	return raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersion(r.small(math.MaxInt32, "protocol version")),
		ID:              r.interned(0),
		Addr:            r.interned(1),
	}
}

// done reports the first error, or trailing bytes.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

// encodeRPC appends the body of a request or response.
func encodeRPC(w *writer, v any) error {
	switch m := v.(type) {
	case *raft.AppendEntriesRequest:
		encodeAppend(w, m)
	case *raft.AppendEntriesResponse:
		w.header(m.RPCHeader)
		w.uint(m.Term)
		w.uint(m.LastLog)
		w.bool(m.Success)
		w.bool(m.NoRetryBackoff)
	case *raft.RequestVoteRequest:
		w.header(m.RPCHeader)
		w.uint(m.Term)
		w.bytes(m.Candidate)
		w.uint(m.LastLogIndex)
		w.uint(m.LastLogTerm)
		w.bool(m.LeadershipTransfer)
	case *raft.RequestVoteResponse:
		w.header(m.RPCHeader)
		w.uint(m.Term)
		w.bytes(m.Peers)
		w.bool(m.Granted)
	case *raft.RequestPreVoteRequest:
		w.header(m.RPCHeader)
		w.uint(m.Term)
		w.uint(m.LastLogIndex)
		w.uint(m.LastLogTerm)
	case *raft.RequestPreVoteResponse:
		w.header(m.RPCHeader)
		w.uint(m.Term)
		w.bool(m.Granted)
	case *raft.InstallSnapshotRequest:
		encodeInstall(w, m)
	case *raft.InstallSnapshotResponse:
		w.header(m.RPCHeader)
		w.uint(m.Term)
		w.bool(m.Success)
	case *raft.TimeoutNowRequest:
		w.header(m.RPCHeader)
	case *raft.TimeoutNowResponse:
		w.header(m.RPCHeader)
	default:
		return fmt.Errorf("consensus: no wire encoding for %T", v)
	}
	return nil
}

func encodeAppend(w *writer, m *raft.AppendEntriesRequest) {
	w.header(m.RPCHeader)
	w.uint(m.Term)
	w.bytes(m.Leader)
	w.uint(m.PrevLogEntry)
	w.uint(m.PrevLogTerm)
	w.uint(m.LeaderCommitIndex)
	w.uint(uint64(len(m.Entries)))
	for _, e := range m.Entries {
		w.uint(e.Index)
		w.uint(e.Term)
		w.b = append(w.b, byte(e.Type))
		w.bytes(e.Data)
		w.bytes(e.Extensions)
		w.time(e.AppendedAt)
	}
}

func encodeInstall(w *writer, m *raft.InstallSnapshotRequest) {
	w.header(m.RPCHeader)
	w.int(int64(m.SnapshotVersion))
	w.uint(m.Term)
	w.bytes(m.Leader)
	w.uint(m.LastLogIndex)
	w.uint(m.LastLogTerm)
	w.bytes(m.Peers)
	w.bytes(m.Configuration)
	w.uint(m.ConfigurationIndex)
	w.int(m.Size)
}

// decodeRPC decodes a body into v, a pointer to one of the RPC structs
// encodeRPC writes, and refuses anything else of the body.
func decodeRPC(r *reader, v any) error {
	switch m := v.(type) {
	case *raft.AppendEntriesRequest:
		decodeAppend(r, m)
	case *raft.AppendEntriesResponse:
		*m = raft.AppendEntriesResponse{RPCHeader: r.header(), Term: r.uint(), LastLog: r.uint(), Success: r.bool(), NoRetryBackoff: r.bool()}
	case *raft.RequestVoteRequest:
		*m = raft.RequestVoteRequest{RPCHeader: r.header(), Term: r.uint(), Candidate: r.bytes(), LastLogIndex: r.uint(), LastLogTerm: r.uint(), LeadershipTransfer: r.bool()}
	case *raft.RequestVoteResponse:
		*m = raft.RequestVoteResponse{RPCHeader: r.header(), Term: r.uint(), Peers: r.bytes(), Granted: r.bool()}
	case *raft.RequestPreVoteRequest:
		*m = raft.RequestPreVoteRequest{RPCHeader: r.header(), Term: r.uint(), LastLogIndex: r.uint(), LastLogTerm: r.uint()}
	case *raft.RequestPreVoteResponse:
		*m = raft.RequestPreVoteResponse{RPCHeader: r.header(), Term: r.uint(), Granted: r.bool()}
	case *raft.InstallSnapshotRequest:
		decodeInstall(r, m)
	case *raft.InstallSnapshotResponse:
		*m = raft.InstallSnapshotResponse{RPCHeader: r.header(), Term: r.uint(), Success: r.bool()}
	case *raft.TimeoutNowRequest:
		*m = raft.TimeoutNowRequest{RPCHeader: r.header()}
	case *raft.TimeoutNowResponse:
		*m = raft.TimeoutNowResponse{RPCHeader: r.header()}
	default:
		return fmt.Errorf("consensus: no wire decoding for %T", v)
	}
	return r.done()
}

// minEntryBytes is the fewest bytes an encoded log entry takes: index,
// term, type, two empty byte strings and a time, one byte each.
const minEntryBytes = 6

func decodeAppend(r *reader, m *raft.AppendEntriesRequest) {
	*m = raft.AppendEntriesRequest{
		RPCHeader: r.header(), Term: r.uint(), Leader: r.interned(1),
		PrevLogEntry: r.uint(), PrevLogTerm: r.uint(), LeaderCommitIndex: r.uint(),
	}
	n := r.uint()
	if n > uint64(len(r.b)/minEntryBytes) {
		r.fail("more entries than the body holds")
		return
	}
	if n == 0 {
		return
	}
	logs := make([]raft.Log, n) // one allocation for the batch
	m.Entries = make([]*raft.Log, n)
	for i := range logs {
		e := &logs[i]
		e.Index, e.Term = r.uint(), r.uint()
		if r.err == nil && len(r.b) == 0 {
			r.fail("entry cut short")
		}
		if r.err != nil {
			return
		}
		e.Type = raft.LogType(r.b[0])
		r.b = r.b[1:]
		e.Data, e.Extensions, e.AppendedAt = r.bytes(), r.bytes(), r.time()
		m.Entries[i] = e
	}
}

func decodeInstall(r *reader, m *raft.InstallSnapshotRequest) {
	*m = raft.InstallSnapshotRequest{
		RPCHeader: r.header(), SnapshotVersion: raft.SnapshotVersion(r.small(math.MaxInt32, "snapshot version")),
		Term: r.uint(), Leader: r.bytes(), LastLogIndex: r.uint(), LastLogTerm: r.uint(),
		Peers: r.bytes(), Configuration: r.bytes(), ConfigurationIndex: r.uint(),
		Size: r.small(math.MaxInt64, "snapshot size"),
	}
}

// newRequest returns a fresh request of kind, or an error for a kind
// that is not a request.
func newRequest(kind byte) (any, error) {
	switch kind {
	case rpcAppendEntries:
		return new(raft.AppendEntriesRequest), nil
	case rpcRequestVote:
		return new(raft.RequestVoteRequest), nil
	case rpcRequestPreVote:
		return new(raft.RequestPreVoteRequest), nil
	case rpcInstallSnapshot:
		return new(raft.InstallSnapshotRequest), nil
	case rpcTimeoutNow:
		return new(raft.TimeoutNowRequest), nil
	default:
		return nil, fmt.Errorf("%w: unknown request kind %d", errMalformed, kind)
	}
}

// decodeRequest decodes a request frame's body.
func decodeRequest(kind byte, body []byte, intern *[2][]byte) (any, error) {
	req, err := newRequest(kind)
	if err != nil {
		return nil, err
	}
	if err := decodeRPC(&reader{b: body, intern: intern}, req); err != nil {
		return nil, err
	}
	return req, nil
}

// isHeartbeat reports whether req is raft's heartbeat: an append with a
// term and a leader and nothing else, which raft's heartbeat handler
// answers without the main loop (as NetworkTransport decides it).
func isHeartbeat(req any) bool {
	a, ok := req.(*raft.AppendEntriesRequest)
	if !ok {
		return false
	}
	leader := a.Addr
	if len(leader) == 0 {
		leader = a.Leader
	}
	return a.Term != 0 && leader != nil && a.PrevLogEntry == 0 && a.PrevLogTerm == 0 &&
		len(a.Entries) == 0 && a.LeaderCommitIndex == 0
}

// appendFrame appends to buf[:0] a frame of kind whose body is v
// encoded (encodeRPC), or, for answerError, v's text (an error).
func appendFrame(buf []byte, kind byte, v any) ([]byte, error) {
	w := writer{b: append(buf[:0], kind, 0, 0, 0, 0)}
	if err, ok := v.(error); ok && kind == answerError {
		w.b = append(w.b, err.Error()...)
	} else if err := encodeRPC(&w, v); err != nil {
		return buf, err
	}
	n := len(w.b) - frameHeaderLen
	if n > maxFrameBytes {
		return w.b, fmt.Errorf("consensus: raft RPC of %d bytes, above %d", n, maxFrameBytes)
	}
	binary.BigEndian.PutUint32(w.b[1:frameHeaderLen], uint32(n))
	return w.b, nil
}

// readFrame reads one frame into buf (grown as its bytes arrive) and
// returns its kind and body.
func readFrame(rd io.Reader, buf []byte) (kind byte, body []byte, err error) {
	var h [frameHeaderLen]byte
	if _, err := io.ReadFull(rd, h[:]); err != nil {
		return 0, buf[:0], err
	}
	n := int(binary.BigEndian.Uint32(h[1:]))
	if n > maxFrameBytes {
		return 0, buf[:0], fmt.Errorf("%w: frame of %d bytes, above %d", errMalformed, n, maxFrameBytes)
	}
	body = buf[:0]
	for len(body) < n {
		chunk := min(n-len(body), max(readChunk, cap(body)-len(body)))
		body = slices.Grow(body, chunk)
		m, err := io.ReadFull(rd, body[len(body):len(body)+chunk])
		body = body[:len(body)+m]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, body, err
		}
	}
	return h[0], body, nil
}
