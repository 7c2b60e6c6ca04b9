package freeport

import (
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A reserved port is held: nobody else can bind it until it is released,
// and then its owner can, at once.
func TestReserveHoldsThePort(t *testing.T) {
	r, err := Reserve()
	if err != nil {
		t.Fatal(err)
	}
	p := r.Port()
	if p < lowest || p >= ephemeralLow() {
		t.Fatalf("port %d outside [%d, %d)", p, lowest, ephemeralLow())
	}
	if _, err := ReserveAt(p); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second reservation of a held port: %v, want EADDRINUSE", err)
	}
	if got := r.Release(); got != p {
		t.Fatalf("Release returned %d, want %d", got, p)
	}
	r.Release() // twice is fine
	again, err := ReserveAt(p)
	if err != nil {
		t.Fatalf("bind after release: %v", err)
	}
	again.Release()
}

// A connection to a held port ends at once instead of waiting in the
// listen queue for a process that is not up.
func TestReservationClosesConnections(t *testing.T) {
	r, err := Reserve()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The deadline only bounds a broken implementation: a working one
	// answers the read with EOF or a reset in microseconds.
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read from a held port: %v, want EOF or a reset", err)
	}
}
