package memconn

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

type name string

func (n name) Network() string { return "mem" }
func (n name) String() string  { return string(n) }

func TestPipeCarriesBytesBothWaysWithoutWaitingForTheReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(name("a"), name("b"))
		// Both write before either reads, as protocol negotiation does.
		if _, err := a.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Write([]byte("world")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "hello" {
			t.Fatalf("b read %q, %v", buf, err)
		}
		if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "world" {
			t.Fatalf("a read %q, %v", buf, err)
		}
		if a.LocalAddr().String() != "a" || a.RemoteAddr().String() != "b" {
			t.Fatalf("a is %s → %s", a.LocalAddr(), a.RemoteAddr())
		}
		// A read waits for a write.
		got := make(chan string)
		go func() {
			n, _ := b.Read(buf)
			got <- string(buf[:n])
		}()
		synctest.Wait()
		a.Write([]byte("late"))
		if s := <-got; s != "late" {
			t.Fatalf("read %q", s)
		}
	})
}

func TestReadDeadlinePassesInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := Pipe(name("a"), name("b"))
		start := time.Now()
		a.SetReadDeadline(start.Add(time.Second))
		_, err := a.Read(make([]byte, 1))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past the deadline: %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("timed out after %v", d)
		}
		a.SetReadDeadline(time.Time{})
		a.SetWriteDeadline(time.Now().Add(-time.Second))
		if _, err := a.Write([]byte{1}); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write past the deadline: %v", err)
		}
	})
}

func TestCloseDrainsThenEOFAndResetFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(name("a"), name("b"))
		a.Write([]byte("xy"))
		a.Close()
		buf := make([]byte, 2)
		if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "xy" {
			t.Fatalf("read before EOF: %q %v", buf, err)
		}
		if _, err := b.Read(buf); err != io.EOF {
			t.Fatalf("read after the peer closed: %v, want EOF", err)
		}
		if _, err := b.Write([]byte{1}); err == nil {
			t.Fatal("write to a closed peer succeeded")
		}
		if _, err := a.Read(buf); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed end: %v", err)
		}

		c, d := Pipe(name("c"), name("d"))
		c.Write([]byte("lost"))
		blocked := make(chan error)
		go func() { _, err := c.Read(buf); blocked <- err }()
		synctest.Wait()
		d.Reset()
		if err := <-blocked; !errors.Is(err, ErrReset) {
			t.Fatalf("blocked read on a reset conn: %v", err)
		}
		if _, err := c.Write([]byte{1}); !errors.Is(err, ErrReset) {
			t.Fatalf("write to a reset conn: %v", err)
		}
	})
}
