package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/node"
)

// releasingBattery is a simulated battery that can be released, and
// records when it was last commanded and released.
type releasingBattery struct {
	*sim.Home
	releases   atomic.Uint64
	sets       atomic.Uint64
	releasedAt atomic.Uint64 // sets when last released
}

func (b *releasingBattery) SetBatteryPower(w gridmesh.W) error {
	b.sets.Add(1)
	return b.Home.SetBatteryPower(w)
}

func (b *releasingBattery) Release(context.Context) error {
	b.releasedAt.Store(b.sets.Load())
	b.releases.Add(1)
	return nil
}

// lockedBuffer is a bytes.Buffer safe for the node's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ownerHome runs one home alone with its HTTP endpoint on a free port of
// 127.0.0.1 and its data in dataDir.
func ownerHome(t *testing.T, key crypto.PrivKey, dataDir string, log io.Writer) (*testHome, *releasingBattery) {
	t.Helper()
	return ownerHomeWith(t, key, dataDir, log, nil)
}

// ownerHomeWith is ownerHome with tweak applied to the configuration.
func ownerHomeWith(t *testing.T, key crypto.PrivKey, dataDir string, log io.Writer, tweak func(*node.Config)) (*testHome, *releasingBattery) {
	t.Helper()
	dev := &releasingBattery{Home: simHome(t, 1, 0.6, testClock())}
	cfg := fastConfig()
	cfg.Home, cfg.Neighborhood = "h0", "nb"
	cfg.HTTPAddr, cfg.DataDir = "127.0.0.1:0", dataDir
	cfg.Raft.DataDir = filepath.Join(dataDir, "raft")
	cfg.Formation.Expect = 1
	if tweak != nil {
		tweak(&cfg)
	}
	nd, err := node.New(cfg, node.Deps{Key: key, Battery: dev, Meter: dev,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	h := runReady(t, nd, dev.Home)
	t.Cleanup(func() {
		h.cancel()
		if err := <-h.done; err != nil {
			t.Errorf("home: %v", err)
		}
	})
	return h, dev
}

// call sends method path with body and token ("" for none) and decodes
// the JSON answer into out (when not nil); it returns the status code.
func call(t *testing.T, h *testHome, method, path, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+h.n.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func TestOwnerAPI(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	dir := t.TempDir()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	h, dev := ownerHome(t, key, dir, &log)

	// The token: written at first start, 0600, never logged.
	tokPath := filepath.Join(dir, "owner-token")
	fi, err := os.Stat(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("owner-token mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(tokPath)
	tok := strings.TrimSpace(string(b))
	if tok == "" || tok != h.n.OwnerToken() {
		t.Fatalf("token file %q, node's token %q", tok, h.n.OwnerToken())
	}

	// Refused without the token, or with another.
	for _, bad := range []string{"", "not-the-token", tok + "x"} {
		if code := call(t, h, "GET", "/api/v1/settings", bad, "", nil); code != http.StatusUnauthorized {
			t.Errorf("GET with token %q: %d, want 401", bad, code)
		}
		if code := call(t, h, "PUT", "/api/v1/settings", bad, `{"reserve_pct":50}`, nil); code != http.StatusUnauthorized {
			t.Errorf("PUT with token %q: %d, want 401", bad, code)
		}
	}
	var st node.OwnerStatus
	if code := call(t, h, "GET", "/api/v1/settings", tok, "", &st); code != 200 || st.ReservePct != 0 || st.Steering != "steered" {
		t.Fatalf("GET: %d %+v", code, st)
	}

	// Bad changes are refused and change nothing.
	for _, body := range []string{`{"reserve_pct":120}`, `{"reserve":30}`, `{"pause_for":"2h"}`, `not json`} {
		if code := call(t, h, "PUT", "/api/v1/settings", tok, body, nil); code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", body, code)
		}
	}

	// Health and readiness of a home alone that reads its devices.
	waitFor(t, "the home to be ready", 20*time.Second, func() bool {
		var r node.Health
		return call(t, h, "GET", "/readyz", "", "", &r) == 200 && r.OK
	})
	var hz node.Health
	if code := call(t, h, "GET", "/healthz", "", "", &hz); code != 200 || !hz.OK || !hz.Checks["loop_ticking"] || hz.LastTickAgoMs < 0 {
		t.Errorf("healthz: %d %+v", code, hz)
	}

	// A pause releases the devices and stops commanding them.
	if code := call(t, h, "PUT", "/api/v1/settings", tok, `{"reserve_pct":30,"paused":true,"pause_for":"2h"}`, &st); code != 200 ||
		st.ReservePct != 30 || !st.Paused || st.Steering != "paused" || st.PauseUntilMs <= time.Now().UnixMilli() {
		t.Fatalf("PUT pause: %d %+v", code, st)
	}
	waitFor(t, "the battery to be released", 10*time.Second, func() bool { return dev.releases.Load() >= 1 })
	setsAtRelease := dev.releasedAt.Load()
	ticks := h.n.Status().Counters["loop_ticks"]
	waitFor(t, "ten more ticks", 10*time.Second, func() bool { return h.n.Status().Counters["loop_ticks"] >= ticks+10 })
	// The guard may still be sending the one command it held when the
	// pause began; nothing after it.
	if sets := dev.sets.Load(); sets > setsAtRelease+1 {
		t.Errorf("the battery was commanded %d times after its release", sets-setsAtRelease)
	}
	if s := h.n.Status(); s.Owner.Steering != "paused" {
		t.Errorf("status owner %+v", s.Owner)
	}
	if !strings.Contains(log.String(), "steering paused by the owner") {
		t.Error("the pause was not logged")
	}

	// Resume: commanded again.
	if code := call(t, h, "PUT", "/api/v1/settings", tok, `{"paused":false,"opt_out_next":true}`, &st); code != 200 || st.Paused || !st.OptOutNext || st.Steering != "steered" {
		t.Fatalf("PUT resume: %d %+v", code, st)
	}
	sets := dev.sets.Load()
	waitFor(t, "the battery to be commanded again", 10*time.Second, func() bool { return dev.sets.Load() > sets })

	// The settings and the token outlive a restart.
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil // for the cleanup, which waits for every home it started
	h2, _ := ownerHome(t, key, dir, &log)
	if h2.n.OwnerToken() != tok {
		t.Error("a new token after a restart")
	}
	if code := call(t, h2, "GET", "/api/v1/settings", tok, "", &st); code != 200 || st.ReservePct != 30 || !st.OptOutNext || st.Paused {
		t.Errorf("after restart: %d %+v", code, st)
	}
	if strings.Contains(log.String(), tok) {
		t.Error("the token was logged")
	}
}
