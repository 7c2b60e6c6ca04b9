package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// `gridmesh status` and `gridmesh settings` against a live home run by
// `gridmesh node`.
func TestStatusAndSettingsCommands(t *testing.T) {
	path := simHome(t)
	dir := filepath.Dir(path)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"node", "--config", path, "--log-level", "warn"}, &out, &errb) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("node exit %d\nstderr:\n%s", code, errb.String())
		}
	}()
	addrRe := regexp.MustCompile(`status: http://([0-9.:]+)/status`)
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		if m := addrRe.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the home never came up\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Ready within the deadline: devices read, network open, a plan or the fallback.
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var so, se bytes.Buffer
	if code := run(ctx, []string{"status", "--addr", addr}, &so, &se); code != 0 {
		t.Fatalf("status: exit %d: %s", code, se.String())
	}
	t.Logf("gridmesh status:\n%s", so.String())
	for _, want := range []string{"home home-sim of oak-street", "battery ", "% charged", "mode ", "leader ", "owner     steered; backup reserve 0 %", "device    battery"} {
		if !strings.Contains(so.String(), want) {
			t.Errorf("status lacks %q", want)
		}
	}

	tok := filepath.Join(dir, "data", "owner-token")
	so.Reset()
	if code := run(ctx, []string{"settings", "--addr", addr, "--token-file", tok, "reserve=30", "opt-out=next", "pause=2h"}, &so, &se); code != 0 {
		t.Fatalf("settings: exit %d: %s", code, se.String())
	}
	if s := so.String(); !strings.Contains(s, "steering paused; reserve 30 %; opt out of next event: true; paused: true until ") {
		t.Errorf("settings printed %q", s)
	}
	so.Reset()
	if code := run(ctx, []string{"status", "--addr", addr}, &so, &se); code != 0 || !strings.Contains(so.String(), "owner     paused; backup reserve 30 %") {
		t.Errorf("status after the change: exit %d\n%s", code, so.String())
	}
	// A wrong token is refused; a bad setting is a usage error.
	bad := filepath.Join(dir, "bad-token")
	if err := os.WriteFile(bad, []byte(strings.Repeat("0", 64)), 0o600); err != nil {
		t.Fatal(err)
	}
	se.Reset()
	if code := run(ctx, []string{"settings", "--addr", addr, "--token-file", bad}, &so, &se); code != 1 || !strings.Contains(se.String(), "401") {
		t.Errorf("wrong token: exit %d: %s", code, se.String())
	}
	if code := run(ctx, []string{"settings", "--addr", addr, "--token-file", tok, "reserve=lots"}, &so, &se); code != 2 {
		t.Errorf("bad setting: exit %d", code)
	}
}
