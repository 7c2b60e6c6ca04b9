package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node/dashboard"
)

// countingSource returns pages numbered by call.
type countingSource struct{ calls atomic.Int64 }

func (s *countingSource) Page() dashboard.Page {
	n := s.calls.Add(1)
	return dashboard.Page{Kind: dashboard.KindHome, AtMs: n, Home: &dashboard.Home{ID: "h1"}}
}

func newServer(t *testing.T, cfg dashboard.Config) (*httptest.Server, *countingSource) {
	t.Helper()
	src := &countingSource{}
	h, err := dashboard.New(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, src
}

func fastConfig() dashboard.Config {
	cfg := dashboard.DefaultConfig()
	cfg.Period = 10 * time.Millisecond
	return cfg
}

func get(t *testing.T, url string) (string, *http.Response) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp
}

// The page, its script and style come from the binary and name nothing
// beyond the server they came from.
func TestServesEmbeddedAssetsOnly(t *testing.T) {
	srv, _ := newServer(t, dashboard.DefaultConfig())
	for path, ctype := range map[string]string{"/": "text/html", "/app.js": "javascript", "/style.css": "text/css"} {
		body, resp := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), ctype) {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//cdn") {
			t.Errorf("%s names an external address", path)
		}
	}
	if _, resp := get(t, srv.URL+"/nothing"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

func TestSnapshotIsTheSourcesPage(t *testing.T) {
	srv, _ := newServer(t, dashboard.DefaultConfig())
	body, _ := get(t, srv.URL+"/snapshot.json")
	var p dashboard.Page
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != dashboard.KindHome || p.Home == nil || p.Home.ID != "h1" {
		t.Fatalf("snapshot %+v", p)
	}
}

// openStream starts a stream and returns its reader of data lines.
func openStream(t *testing.T, ctx context.Context, url string) (*http.Response, *bufio.Scanner) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewScanner(resp.Body)
}

// nextPage reads up to the next data line and decodes it.
func nextPage(t *testing.T, sc *bufio.Scanner) dashboard.Page {
	t.Helper()
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var p dashboard.Page
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("data line %q: %v", line, err)
		}
		return p
	}
	t.Fatalf("stream ended: %v", sc.Err())
	return dashboard.Page{}
}

// A stream sends a fresh snapshot every period, and tells the browser
// how soon to reconnect.
func TestStreamSendsFreshSnapshots(t *testing.T) {
	srv, _ := newServer(t, fastConfig())
	resp, sc := openStream(t, context.Background(), srv.URL)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	if !sc.Scan() || sc.Text() != "retry: 2000" {
		t.Fatalf("first line %q, want the retry delay", sc.Text())
	}
	first := nextPage(t, sc)
	second := nextPage(t, sc)
	if second.AtMs <= first.AtMs {
		t.Fatalf("second snapshot %d not newer than first %d", second.AtMs, first.AtMs)
	}
}

// Streams are bounded: past MaxClients a client is refused with
// Retry-After; once a stream ends its slot serves the next client.
func TestStreamsAreBounded(t *testing.T) {
	cfg := fastConfig()
	cfg.MaxClients = 2
	srv, _ := newServer(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var open []*bufio.Scanner
	for range cfg.MaxClients {
		_, sc := openStream(t, ctx, srv.URL)
		nextPage(t, sc) // the stream holds its slot
		open = append(open, sc)
	}
	_, resp := get(t, srv.URL+"/events")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("client past the bound: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	cancel() // the clients go away: their streams end and free their slots
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		code := resp.StatusCode
		resp.Body.Close()
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slots not freed after the clients left: still %d", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A stream ends with its request's context: the server's handler
// returns, which httptest's Close waits for.
func TestStreamEndsWithTheServer(t *testing.T) {
	src := &countingSource{}
	h, err := dashboard.New(src, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewUnstartedServer(h)
	srv.Config.BaseContext = func(_ net.Listener) context.Context { return ctx }
	srv.Start()
	_, sc := openStream(t, context.Background(), srv.URL)
	nextPage(t, sc)
	cancel()
	for sc.Scan() {
	}
	srv.Close() // returns once every handler has returned
}

func TestConfigValidate(t *testing.T) {
	for _, mut := range []func(*dashboard.Config){
		func(c *dashboard.Config) { c.Period = 0 },
		func(c *dashboard.Config) { c.MaxClients = 0 },
		func(c *dashboard.Config) { c.WriteTimeout = -1 },
		func(c *dashboard.Config) { c.RetryMs = 0 },
	} {
		cfg := dashboard.DefaultConfig()
		mut(&cfg)
		if cfg.Validate() == nil {
			t.Errorf("%+v accepted", cfg)
		}
		if _, err := dashboard.New(&countingSource{}, cfg); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
	if err := dashboard.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
