package session

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestRunStopsDuringHandshake: a broker that accepts TCP but never
// answers CONNECT must not hold Run past its context.
func TestRunStopsDuringHandshake(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := Config{Broker: "tcp://" + l.Addr().String(), ClientID: "t", ReconnectMin: time.Millisecond, ReconnectMax: time.Millisecond}
	go func() {
		done <- Run(ctx, cfg, slog.New(slog.DiscardHandler), func(context.Context, *Conn) error {
			return errors.New("serve must not be called")
		})
	}()
	var conn net.Conn
	select {
	case conn = <-accepted:
		defer conn.Close()
	case <-time.After(connectTimeout):
		t.Fatal("Run never dialed")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(connectTimeout):
		t.Fatal("Run waited out the handshake")
	}
	if waited := time.Since(start); waited >= connectTimeout/2 {
		t.Fatalf("Run took %v to stop", waited)
	}
}
