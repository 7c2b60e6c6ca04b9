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
	dir, path, cfg := writeSimHome(t, "")
	// Admitted as the example's comments say; invite prints the block the
	// example holds.
	for _, args := range [][]string{
		{"neighborhood", "init", "--id", "oak-street", "--out", filepath.Join(dir, "keys")},
		{"neighborhood", "invite", "--key", filepath.Join(dir, "keys", "neighborhood.key"), "--config", path},
	} {
		var o bytes.Buffer
		if code := run(context.Background(), args, &o, &o); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, o.String())
		}
		if args[1] == "invite" && !strings.Contains(o.String(), "admission:\n  neighborhood_key: "+filepath.Join(dir, "keys", "neighborhood.pub")+
			"\n  certificate: "+filepath.Join(dir, "data", "membership.cert")) {
			t.Errorf("invite printed %q", o.String())
		}
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
	// Without admission: it says how to admit the home or open it.
	block := "admission:\n  neighborhood_key: " + filepath.Join(dir, "keys", "neighborhood.pub") + "\n  certificate: " + filepath.Join(dir, "data", "membership.cert") + "\n"
	if !strings.Contains(cfg, block) {
		t.Fatalf("the example has no admission block:\n%s", cfg)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(cfg, block, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var nb bytes.Buffer
	if code := run(context.Background(), []string{"node", "--config", path}, &nb, &nb); code == 0 ||
		!strings.Contains(nb.String(), "gridmesh neighborhood invite") || !strings.Contains(nb.String(), "open: true") {
		t.Errorf("no admission: exit %d, output %q", code, nb.String())
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
