// Package memconn is an in-memory, buffered net.Conn pair with deadlines,
// for transports that tests and simulations run in memory (a Raft
// transport, a libp2p transport) and inside testing/synctest bubbles:
// every wait is on a channel, so a conn blocked in Read is durably
// blocked and virtual time moves on.
//
// Unlike net.Pipe, a write never waits for the peer to read: it is
// queued, as a socket's send buffer would take it, so two sides that
// both write before they read (protocol negotiation does) do not
// deadlock. The queue is unbounded; the protocols run over it (yamux,
// raft's RPCs) bound what is in flight themselves.
package memconn

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// ErrReset is what reads and writes return once the peer reset the conn.
var ErrReset = errors.New("memconn: connection reset by peer")

// Pipe returns the two ends of a new conn: what is written to one is read
// from the other. a and b name the ends (LocalAddr of the first is a).
func Pipe(a, b net.Addr) (*Conn, *Conn) {
	ab, ba := newQueue(), newQueue()
	return &Conn{in: ba, out: ab, local: a, remote: b, done: make(chan struct{})},
		&Conn{in: ab, out: ba, local: b, remote: a, done: make(chan struct{})}
}

// queue is one direction of a conn. Its mutex guards buf and end; wake
// is closed and replaced whenever either changes, waking every reader.
type queue struct {
	mu   sync.Mutex
	buf  []byte
	end  error // set once: io.EOF (writer closed), ErrReset, or io.ErrClosedPipe (reader gone)
	wake chan struct{}
}

func newQueue() *queue { return &queue{wake: make(chan struct{})} }

// put appends b unless the queue has ended.
func (q *queue) put(b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.end != nil {
		if q.end == io.EOF {
			return net.ErrClosed // our own write side is closed
		}
		return q.end
	}
	q.buf = append(q.buf, b...)
	close(q.wake)
	q.wake = make(chan struct{})
	return nil
}

// take copies queued bytes into b; with none, it returns the end error or
// a channel closed when there may be more.
func (q *queue) take(b []byte) (int, error, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.buf) > 0 && q.end != ErrReset {
		n := copy(b, q.buf)
		q.buf = q.buf[n:]
		return n, nil, nil
	}
	if q.end != nil {
		return 0, q.end, nil
	}
	return 0, nil, q.wake
}

// finish ends the queue with err unless it has ended already; a reset
// discards what is queued.
func (q *queue) finish(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.end != nil && q.end != io.EOF {
		return
	}
	if q.end == io.EOF && err != ErrReset {
		return
	}
	q.end = err
	if err == ErrReset {
		q.buf = nil
	}
	close(q.wake)
	q.wake = make(chan struct{})
}

// Conn is one end of a Pipe. It is safe for concurrent use.
type Conn struct {
	in, out       *queue
	local, remote net.Addr
	rd, wd        deadline
	once          sync.Once
	done          chan struct{} // closed by Close or Reset
}

var _ net.Conn = (*Conn)(nil)

// Read reads queued bytes, waiting for some until the read deadline.
// After the peer closed, it returns io.EOF once the queue is drained;
// after the peer reset, ErrReset at once.
func (c *Conn) Read(b []byte) (int, error) {
	for {
		select {
		case <-c.done:
			return 0, net.ErrClosed
		default:
		}
		if c.rd.expired() {
			return 0, os.ErrDeadlineExceeded
		}
		n, err, wait := c.in.take(b)
		if wait == nil {
			return n, err
		}
		select {
		case <-wait:
		case <-c.rd.wait():
		case <-c.done:
		}
	}
}

// Write queues b for the peer; it never waits.
func (c *Conn) Write(b []byte) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	if c.wd.expired() {
		return 0, os.ErrDeadlineExceeded
	}
	if err := c.out.put(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close closes both directions: the peer reads what was queued, then
// io.EOF; its writes fail.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.out.finish(io.EOF)
		c.in.finish(io.ErrClosedPipe)
	})
	return nil
}

// Reset closes both directions abruptly: the peer's reads and writes fail
// with ErrReset at once, whatever was queued.
func (c *Conn) Reset() error {
	c.once.Do(func() {
		close(c.done)
		c.out.finish(ErrReset)
		c.in.finish(ErrReset)
	})
	return nil
}

// LocalAddr is this end's name.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the peer's name.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; the zero time clears it.
func (c *Conn) SetReadDeadline(t time.Time) error { c.rd.set(t); return nil }

// SetWriteDeadline sets the write deadline; the zero time clears it.
func (c *Conn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

// deadline is a settable deadline whose passing closes a channel, as
// net.Pipe's is. Its mutex guards timer and cancel.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline passes
}

// set arms the deadline at t (the zero time disarms it). A channel not
// yet closed is kept and re-armed, so a read already waiting on it sees
// the new deadline.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: its func closes the channel
	}
	d.timer = nil
	if d.cancel == nil || isClosed(d.cancel) {
		d.cancel = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	close(d.cancel)
}

// wait returns a channel closed when the deadline passes; nil (blocks
// forever in a select) when none is set.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func (d *deadline) expired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return isClosed(d.cancel)
}

func isClosed(c chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}
