// Package freeport hands out loopback TCP ports for processes that must
// know their address before they listen: homes of a local city (every
// home names others as bootstrap peers before any starts) and tests that
// start several.
//
// A port is handed over held (a Reservation: an open listener), so
// nothing else can take it while the caller holds it, however long
// before its process starts; the caller releases it immediately before
// its own process binds the port. Ports come from below the kernel's
// ephemeral range, so a ":0" listen or an outgoing connection (another
// test's, say) never lands on a port between that release and the bind.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Port range: above the privileged ports and below the ephemeral range.
const (
	lowest = 1024
	// defaultEphemeralLow is where Linux's default ip_local_port_range
	// starts; the actual start is read from /proc where there is one.
	defaultEphemeralLow = 32768
	// attempts bounds the random tries: with a few hundred ports taken out
	// of 31,000 the first try nearly always succeeds, and 200 taken ones
	// in a row mean the range is exhausted.
	attempts = 200
)

// ErrExhausted is returned when no port of the range could be bound.
var ErrExhausted = errors.New("freeport: no free loopback port below the ephemeral range")

// Reservation holds a loopback TCP port. A connection made to it
// meanwhile is closed at once, as one to a process that is not up yet
// would be refused, rather than left hanging in the listen queue.
type Reservation struct {
	ln   net.Listener
	port int
	wg   sync.WaitGroup // the goroutine that closes what connects
	once sync.Once
}

// Reserve holds a random free port below the ephemeral range, trying
// another port while one is in use.
func Reserve() (*Reservation, error) {
	high := ephemeralLow()
	for range attempts {
		r, err := ReserveAt(lowest + rand.IntN(high-lowest))
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		return r, err
	}
	return nil, ErrExhausted
}

// ReserveAt holds port p: to hold again a port its process released (a
// home that stopped and will start again at the same address). The error
// wraps syscall.EADDRINUSE when another process has the port.
func ReserveAt(p int) (*Reservation, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return nil, fmt.Errorf("freeport: %w", err)
	}
	r := &Reservation{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	r.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // Release closed the listener
			}
			c.Close()
		}
	})
	return r, nil
}

// Port is the port held.
func (r *Reservation) Port() int { return r.port }

// Release frees the port for the caller's process to bind at once, and
// returns it. Safe to call more than once.
func (r *Reservation) Release() int {
	r.once.Do(func() {
		r.ln.Close()
		r.wg.Wait()
	})
	return r.port
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return defaultEphemeralLow
	}
	if v, err := strconv.Atoi(f[0]); err == nil && v > 2*lowest {
		return v
	}
	return defaultEphemeralLow
}
