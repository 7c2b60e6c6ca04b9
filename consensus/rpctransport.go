package consensus

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// keepBufferBytes is the largest buffer a stream keeps between RPCs.
// Why 16 KiB: a heartbeat is ~150 bytes and an append of one plan ~1 KB,
// so steady state reuses the buffer; a catch-up batch or snapshot
// header past it is allocated for that RPC and dropped after, so an idle
// stream holds a few KiB, not the 256 KiB reader or writer raft's
// NetworkTransport gives every connection.
const keepBufferBytes = 16 << 10

// rpcTransport is raft's Transport over a stream layer: the same
// requests and answers as raft's NetworkTransport (one RPC at a time on
// a stream, idle streams pooled per peer, a deadline on every RPC, the
// heartbeat handed to raft's fast path), in the wire format of
// rpcwire.go, with no buffered reader or writer per stream. Every policy
// on streams (protocol per neighborhood and cluster, admission, the
// bounded accept queue, pause) is the layer's.
type rpcTransport struct {
	layer   raft.StreamLayer
	timeout time.Duration // every RPC's deadline; snapshots scale it
	maxPool int           // idle streams kept per peer
	log     *slog.Logger

	consumer  chan raft.RPC
	heartbeat atomic.Pointer[func(raft.RPC)]
	// malformed counts inbound streams closed on a request that did not
	// decode, or a kind that is not a request.
	malformed atomic.Uint64

	shutdown  chan struct{}
	closeOnce sync.Once

	poolMu sync.Mutex
	pool   map[raft.ServerAddress][]*rpcConn
}

var (
	_ raft.Transport   = (*rpcTransport)(nil)
	_ raft.WithClose   = (*rpcTransport)(nil)
	_ raft.WithPreVote = (*rpcTransport)(nil)
)

// rpcConn is one outbound stream with its buffer and interned header
// fields.
type rpcConn struct {
	target raft.ServerAddress
	conn   net.Conn
	buf    []byte
	intern [2][]byte
}

// newRPCTransport starts serving the layer's inbound streams.
func newRPCTransport(layer raft.StreamLayer, maxPool int, timeout time.Duration, log *slog.Logger) *rpcTransport {
	t := &rpcTransport{
		layer:    layer,
		timeout:  timeout,
		maxPool:  maxPool,
		log:      log,
		consumer: make(chan raft.RPC),
		shutdown: make(chan struct{}),
		pool:     make(map[raft.ServerAddress][]*rpcConn),
	}
	go t.listen()
	return t
}

// Consumer is where raft reads the RPCs this member is sent.
func (t *rpcTransport) Consumer() <-chan raft.RPC { return t.consumer }

// LocalAddr is this member's peer ID.
func (t *rpcTransport) LocalAddr() raft.ServerAddress {
	return raft.ServerAddress(t.layer.Addr().String())
}

// SetHeartbeatHandler sets raft's fast path for heartbeats.
func (t *rpcTransport) SetHeartbeatHandler(cb func(rpc raft.RPC)) {
	if cb == nil {
		t.heartbeat.Store(nil)
		return
	}
	t.heartbeat.Store(&cb)
}

// AppendEntriesPipeline is not offered, and raft then replicates with
// synchronous AppendEntries, one in flight per follower: plans are one
// entry a period, so pipelining buys nothing, and in hashicorp/raft
// v1.8.0 a pipeline whose response decoder has stopped (the follower
// answered with a newer term while more appends were queued) blocks its
// replication goroutine for good, so Shutdown never returns (seen with
// 100 homes on a loaded 2-core machine, under NetworkTransport).
func (t *rpcTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

func (t *rpcTransport) AppendEntries(_ raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	return t.call(target, rpcAppendEntries, args, resp)
}

func (t *rpcTransport) RequestVote(_ raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	return t.call(target, rpcRequestVote, args, resp)
}

func (t *rpcTransport) RequestPreVote(_ raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return t.call(target, rpcRequestPreVote, args, resp)
}

func (t *rpcTransport) TimeoutNow(_ raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	return t.call(target, rpcTimeoutNow, args, resp)
}

// snapshotTimeoutScale is how many bytes of snapshot each timeout covers,
// as raft's NetworkTransport scales it (DefaultTimeoutScale).
const snapshotTimeoutScale = raft.DefaultTimeoutScale

// snapshotTimeout is how long a snapshot of size bytes may take to
// cross: the RPC timeout for every snapshotTimeoutScale bytes.
func (t *rpcTransport) snapshotTimeout(size int64) time.Duration {
	return max(t.timeout, t.timeout*time.Duration(size/snapshotTimeoutScale))
}

// InstallSnapshot sends the request, then args.Size bytes of data, on a
// stream of its own that is closed after.
func (t *rpcTransport) InstallSnapshot(_ raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	c, err := t.dial(target)
	if err != nil {
		return err
	}
	defer func() { _ = c.conn.Close() }()
	timeout := t.snapshotTimeout(args.Size)
	if err := c.send(rpcInstallSnapshot, args, timeout); err != nil {
		return err
	}
	if _, err := io.CopyN(c.conn, data, args.Size); err != nil {
		return fmt.Errorf("send snapshot to %s: %w", target, err)
	}
	_, err = c.receive(resp)
	return err
}

// EncodePeer and DecodePeer: a peer's address is its peer ID string.
func (t *rpcTransport) EncodePeer(_ raft.ServerID, addr raft.ServerAddress) []byte {
	return []byte(addr)
}

func (t *rpcTransport) DecodePeer(b []byte) raft.ServerAddress { return raft.ServerAddress(b) }

// Close stops serving and closes every stream, pooled or served, by
// closing the layer. It is idempotent.
func (t *rpcTransport) Close() error {
	t.closeOnce.Do(func() {
		close(t.shutdown)
		t.poolMu.Lock()
		t.pool = nil
		t.poolMu.Unlock()
	})
	return t.layer.Close()
}

// call makes one RPC on a pooled stream, or a new one. A pooled stream
// that cannot take the request (its connection gone: the pool's other
// streams to target went with it, and are dropped) is retried once on a
// new stream, at once: raft would retry only after CommitTimeout.
func (t *rpcTransport) call(target raft.ServerAddress, kind byte, args, resp any) error {
	c, pooled, err := t.conn(target)
	if err != nil {
		return err
	}
	err = c.send(kind, args, t.timeout)
	if err != nil && pooled {
		_ = c.conn.Close()
		t.drop(target)
		if c, err = t.dial(target); err != nil {
			return err
		}
		err = c.send(kind, args, t.timeout)
	}
	if err != nil {
		_ = c.conn.Close()
		return err
	}
	reusable, err := c.receive(resp)
	if !reusable {
		_ = c.conn.Close()
		return err
	}
	t.release(c)
	return err
}

// conn takes an idle stream to target from the pool (pooled), or dials
// one.
func (t *rpcTransport) conn(target raft.ServerAddress) (c *rpcConn, pooled bool, err error) {
	t.poolMu.Lock()
	if cs := t.pool[target]; len(cs) > 0 {
		c := cs[len(cs)-1]
		cs[len(cs)-1] = nil
		t.pool[target] = cs[:len(cs)-1]
		t.poolMu.Unlock()
		return c, true, nil
	}
	t.poolMu.Unlock()
	c, err = t.dial(target)
	return c, false, err
}

// drop closes and forgets the idle streams to target.
func (t *rpcTransport) drop(target raft.ServerAddress) {
	t.poolMu.Lock()
	cs := t.pool[target]
	delete(t.pool, target)
	t.poolMu.Unlock()
	for _, c := range cs {
		_ = c.conn.Close()
	}
}

func (t *rpcTransport) dial(target raft.ServerAddress) (*rpcConn, error) {
	conn, err := t.layer.Dial(target, t.timeout)
	if err != nil {
		return nil, err
	}
	return &rpcConn{target: target, conn: conn}, nil
}

// release returns c to the pool, or closes it when the pool is full or
// the transport closed.
func (t *rpcTransport) release(c *rpcConn) {
	c.buf = trimmed(c.buf)
	t.poolMu.Lock()
	if cs := t.pool[c.target]; t.pool != nil && len(cs) < t.maxPool {
		t.pool[c.target] = append(cs, c)
		t.poolMu.Unlock()
		return
	}
	t.poolMu.Unlock()
	_ = c.conn.Close()
}

// send writes one request frame within timeout from now (the deadline
// also covers the answer).
func (c *rpcConn) send(kind byte, args any, timeout time.Duration) error {
	if timeout > 0 {
		_ = c.conn.SetDeadline(time.Now().Add(timeout))
	}
	var err error
	c.buf, err = appendFrame(c.buf, kind, args)
	if err != nil {
		return err
	}
	if _, err := c.conn.Write(c.buf); err != nil {
		return fmt.Errorf("send raft RPC to %s: %w", c.target, err)
	}
	return nil
}

// receive reads the answer into resp. It reports whether the stream may
// carry another RPC: not after an I/O or decoding error.
func (c *rpcConn) receive(resp any) (reusable bool, err error) {
	kind, body, err := readFrame(c.conn, c.buf)
	c.buf = body
	if err != nil {
		return false, fmt.Errorf("read raft answer from %s: %w", c.target, err)
	}
	switch kind {
	case answerError:
		return true, errors.New(string(body))
	case answerOK:
		if err := decodeRPC(&reader{b: body, intern: &c.intern}, resp); err != nil {
			return false, fmt.Errorf("raft answer from %s: %w", c.target, err)
		}
		return true, nil
	default:
		return false, fmt.Errorf("raft answer from %s: %w: kind %d", c.target, errMalformed, kind)
	}
}

// trimmed drops a buffer grown past keepBufferBytes.
func trimmed(buf []byte) []byte {
	if cap(buf) > keepBufferBytes {
		return nil
	}
	return buf
}

// listen hands every accepted stream to a goroutine of its own until
// the layer closes: its Accept fails only then.
func (t *rpcTransport) listen() {
	for {
		conn, err := t.layer.Accept()
		if err != nil {
			if !t.closed() {
				t.log.Warn("raft stream layer closed under the transport", "err", err)
			}
			return
		}
		go t.serve(conn)
	}
}

func (t *rpcTransport) closed() bool {
	select {
	case <-t.shutdown:
		return true
	default:
		return false
	}
}

// serve answers the RPCs of one inbound stream, one at a time, until
// the stream ends, a request does not decode, or the transport closes.
func (t *rpcTransport) serve(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	s := &served{conn: conn, answers: make(chan raft.RPCResponse, 1)}
	for {
		err := t.serveOne(s)
		s.buf = trimmed(s.buf)
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, errMalformed):
			t.malformed.Add(1)
			t.log.Warn("raft stream closed: malformed request", "peer", conn.RemoteAddr().String(), "err", err)
		case errors.Is(err, io.EOF), errors.Is(err, errSnapshotServed), errors.Is(err, net.ErrClosed), t.closed():
		default:
			t.log.Debug("raft stream ended", "peer", conn.RemoteAddr().String(), "err", err)
		}
		return
	}
}

// served is an inbound stream's state between RPCs.
type served struct {
	conn    net.Conn
	buf     []byte
	intern  [2][]byte
	answers chan raft.RPCResponse // raft answers each RPC once; reused
}

// errSnapshotServed ends a stream's service after a snapshot.
var errSnapshotServed = errors.New("raft snapshot served")

// errTransportClosed ends a stream's service when the transport closes.
var errTransportClosed = errors.New("raft transport closed")

// serveOne reads one request, hands it to raft (its heartbeat fast path,
// or the consumer) and writes raft's answer.
func (t *rpcTransport) serveOne(s *served) error {
	kind, body, err := readFrame(s.conn, s.buf)
	s.buf = body
	if err != nil {
		return err
	}
	req, err := decodeRequest(kind, body, &s.intern)
	if err != nil {
		return err
	}
	rpc := raft.RPC{Command: req, RespChan: s.answers}
	if is, ok := req.(*raft.InstallSnapshotRequest); ok {
		rpc.Reader = io.LimitReader(s.conn, is.Size)
		// A sender that stalls inside the data must not hold raft's
		// restore forever.
		_ = s.conn.SetReadDeadline(time.Now().Add(t.snapshotTimeout(is.Size)))
	}
	if fn := t.heartbeat.Load(); fn != nil && isHeartbeat(req) {
		(*fn)(rpc)
	} else {
		select {
		case t.consumer <- rpc:
		case <-t.shutdown:
			return errTransportClosed
		}
	}
	var ans raft.RPCResponse
	select {
	case ans = <-s.answers:
	case <-t.shutdown:
		return errTransportClosed
	}
	s.buf, err = appendAnswer(s.buf, ans)
	if err != nil {
		return err
	}
	if _, err = s.conn.Write(s.buf); err != nil {
		return err
	}
	if rpc.Reader != nil {
		// The dialer closes a snapshot's stream after the answer; what
		// raft left unread of the data must not be read as a request.
		return errSnapshotServed
	}
	return nil
}

// appendAnswer appends raft's answer as a frame.
func appendAnswer(buf []byte, ans raft.RPCResponse) ([]byte, error) {
	if ans.Error != nil {
		return appendFrame(buf, answerError, ans.Error)
	}
	return appendFrame(buf, answerOK, ans.Response)
}
