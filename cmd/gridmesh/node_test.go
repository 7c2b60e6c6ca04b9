package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the command's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNodeCommandRunsAHomeFile(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/home-sim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer(
		"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/0",
		".gridmesh/home-sim", filepath.Join(dir, "data"),
		"http: 127.0.0.1:8181", "http: \"\"",
	).Replace(string(src))
	path := filepath.Join(dir, "home.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"node", "--config", path, "--log-level", "warn"}, &out, &errb) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "home home-sim of oak-street up: peer ") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the home never came up\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "identity.key")); err != nil {
		t.Errorf("no identity key kept: %v", err)
	}
	// `node id` prints the identity the home ran with.
	var idOut bytes.Buffer
	if code := run(context.Background(), []string{"node", "id", "--config", path}, &idOut, &idOut); code != 0 ||
		!strings.Contains(out.String(), "peer "+strings.TrimSpace(idOut.String())) {
		t.Errorf("node id: exit %d, printed %q; the home said %q", code, idOut.String(), out.String())
	}
	// A broken file is a usage error naming the line.
	if err := os.WriteFile(path, []byte("home: h\nneighbourhood: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var eb bytes.Buffer
	if code := run(context.Background(), []string{"node", "--config", path}, &eb, &eb); code != 2 || !strings.Contains(eb.String(), "line 2") {
		t.Errorf("broken file: exit %d, output %q", code, eb.String())
	}
}
