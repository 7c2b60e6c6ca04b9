package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nodeProcess is a `gridmesh node` process: this test binary run as the
// command (asGridmesh). It is killed when the test ends.
type nodeProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	status chan string // the status URL, once the home is up
	exited chan error
}

// startNode runs `gridmesh node --config path`.
func startNode(t *testing.T, path string) *nodeProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "node", "--config", path, "--log-level", "warn")
	cmd.Env = append(os.Environ(), asGridmesh+"=1")
	p := &nodeProcess{cmd: cmd, stderr: &syncBuffer{}, status: make(chan string, 1), exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.scan(out)
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("node stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

var statusLine = regexp.MustCompile(`status: (http://\S+/status)`)

func (p *nodeProcess) scan(out io.Reader) {
	s := bufio.NewScanner(out)
	for s.Scan() {
		if m := statusLine.FindStringSubmatch(s.Text()); m != nil {
			p.status <- m[1]
		}
	}
}

// statusURL waits for the home to be up and returns its status URL.
func (p *nodeProcess) statusURL(t *testing.T) string {
	t.Helper()
	select {
	case u := <-p.status:
		return u
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		t.Fatalf("the node exited before it was up: %v\n%s", err, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the node was not up in 60 s\n%s", p.stderr.String())
	}
	return ""
}

// terminate sends SIGTERM and returns when it was sent.
func (p *nodeProcess) terminate(t *testing.T) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return at
}

// wait waits for the process to exit after a signal, and wants exit 0.
func (p *nodeProcess) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		if err != nil {
			t.Errorf("node exited with %v\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("node still running 30 s after SIGTERM")
	}
}

// homeStatus is what these tests read of a home's /status.
type homeStatus struct {
	Devices map[string]struct {
		Available  bool    `json:"available"`
		Waiting    bool    `json:"waiting"`
		WaitingFor string  `json:"waiting_for"`
		Writes     *uint64 `json:"writes"`
	} `json:"devices"`
	MissingKinds []struct {
		Device, Kind, Reason string
	} `json:"missing_kinds"`
	Counters map[string]uint64 `json:"counters"`
}

func getStatus(t *testing.T, url string) homeStatus {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s homeStatus
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// exampleHome writes examples/NAME with the replacements given (pairs),
// and the home's own listen address, data directory and HTTP address
// made free ones; it returns the file's path.
func exampleHome(t *testing.T, name string, repl ...string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("../../examples", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := regexp.MustCompile(`/ip4/127.0.0.1/tcp/\d+`).ReplaceAllString(string(src), "/ip4/127.0.0.1/tcp/0")
	s = regexp.MustCompile(`(?m)^data_dir: .*$`).ReplaceAllString(s, "data_dir: "+filepath.Join(dir, "data"))
	s = regexp.MustCompile(`(?m)^http: .*$`).ReplaceAllString(s, "http: 127.0.0.1:0")
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("%s has no %q", name, repl[i])
		}
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	s = strings.ReplaceAll(s, ".gridmesh/keys", filepath.Join(dir, "keys"))
	s = regexp.MustCompile(`(?m)^  certificate: .*$`).ReplaceAllString(s, "  certificate: "+filepath.Join(dir, "data", "membership.cert"))
	path := filepath.Join(dir, "home.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	admit(t, path, filepath.Join(dir, "keys"))
	return path
}

// simHome writes an admitted copy of examples/home-sim.yaml listening
// and serving on free loopback ports, its data in a temporary directory;
// it returns the file's path.
func simHome(t *testing.T) string {
	t.Helper()
	dir, path, _ := writeSimHome(t, "127.0.0.1:0")
	admit(t, path, filepath.Join(dir, "keys"))
	return path
}

// writeSimHome writes a copy of examples/home-sim.yaml, not yet
// admitted, listening on a free loopback port and serving HTTP on
// httpAddr ("" for none), its data and keys in a temporary directory; it
// returns the directory, the file's path and the text written.
func writeSimHome(t *testing.T, httpAddr string) (dir, path, cfg string) {
	t.Helper()
	dir = t.TempDir()
	src, err := os.ReadFile("../../examples/home-sim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg = strings.NewReplacer(
		"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/0",
		".gridmesh/home-sim", filepath.Join(dir, "data"),
		".gridmesh/keys", filepath.Join(dir, "keys"),
		"http: 127.0.0.1:8181", "http: "+strconv.Quote(httpAddr),
	).Replace(string(src))
	path = filepath.Join(dir, "home.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path, cfg
}

func admit(t *testing.T, path, keys string) {
	t.Helper()
	for _, args := range [][]string{
		{"neighborhood", "init", "--id", "oak-street", "--out", keys},
		{"neighborhood", "invite", "--key", filepath.Join(keys, "neighborhood.key"), "--config", path},
	} {
		var o bytes.Buffer
		if code := run(context.Background(), args, &o, &o); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, o.String())
		}
	}
}

// eventuallyWithin polls cond every 10 ms until it holds or d has passed.
func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Now()
}
