package dashboard

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"time"
)

//go:embed assets
var assets embed.FS

// Source gives the page to show now. It is called from the goroutine of
// every client's stream, at once: it must be safe for concurrent use,
// and quick (once a second per client).
type Source interface {
	Page() Page
}

// SourceFunc adapts a function to Source.
type SourceFunc func() Page

// Page calls f.
func (f SourceFunc) Page() Page { return f() }

// Config bounds the streams.
type Config struct {
	// Period is how often a stream sends a snapshot. Why 1 s: the
	// figures a person watches (powers, SoC, plan age) change on that
	// scale, the home's plans come once a second, and a snapshot is a
	// few kB.
	Period time.Duration
	// MaxClients bounds the streams served at once; past it a client is
	// answered 503. Why 16: a home's page is watched by its owner on a
	// phone or two; each stream costs one goroutine and one snapshot a
	// second, which 16 of keep well inside a home gateway's budget.
	MaxClients int
	// WriteTimeout bounds one write to a client: a client that stops
	// reading loses its stream, and its slot, after it.
	WriteTimeout time.Duration
	// RetryMs is the reconnection delay the stream tells the browser.
	RetryMs int
}

// DefaultConfig is a home's: a snapshot a second, 16 clients.
func DefaultConfig() Config {
	return Config{Period: time.Second, MaxClients: 16, WriteTimeout: 5 * time.Second, RetryMs: 2000}
}

// Validate checks every bound is positive.
func (c Config) Validate() error {
	if c.Period <= 0 || c.MaxClients <= 0 || c.WriteTimeout <= 0 || c.RetryMs <= 0 {
		return fmt.Errorf("dashboard: period %v, max clients %d, write timeout %v and retry %d ms must be positive",
			c.Period, c.MaxClients, c.WriteTimeout, c.RetryMs)
	}
	return nil
}

// Handler serves the page and its stream of snapshots from a Source.
type Handler struct {
	src Source
	cfg Config
	mux *http.ServeMux
	// slots holds one token per stream served; its capacity is
	// MaxClients. Each stream's goroutine takes and returns its own.
	slots chan struct{}
}

// New returns the Handler for src. It starts nothing: every stream runs
// in the goroutine of its request and ends with the request's context.
func New(src Source, cfg Config) (*Handler, error) {
	if src == nil {
		return nil, errors.New("dashboard: nil source")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{src: src, cfg: cfg, mux: http.NewServeMux(), slots: make(chan struct{}, cfg.MaxClients)}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard: assets: %w", err)
	}
	files := http.FileServerFS(static)
	h.mux.Handle("GET /{$}", files)
	h.mux.Handle("GET /app.js", files)
	h.mux.Handle("GET /style.css", files)
	h.mux.HandleFunc("GET /events", h.serveEvents)
	h.mux.HandleFunc("GET /snapshot.json", h.serveSnapshot)
	return h, nil
}

// ServeHTTP serves the routes listed in the package doc.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// The page loads only what it is served with, and talks only to where
	// it came from.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveSnapshot(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(h.src.Page()) // the client went away; nothing to do
}

// serveEvents streams a snapshot every Period until the client goes
// away, its request's context ends, or a write fails or times out.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, h.cfg.RetryMs/1000)))
		http.Error(w, "too many dashboard streams", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy in front must not hold the stream back
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", h.cfg.RetryMs); err != nil {
		return
	}
	tick := time.NewTicker(h.cfg.Period)
	defer tick.Stop()
	for {
		if err := h.send(w, rc); err != nil {
			return // the client went away or stopped reading: its stream ends
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// send writes one snapshot event and flushes it, within WriteTimeout.
func (h *Handler) send(w http.ResponseWriter, rc *http.ResponseController) error {
	b, err := json.Marshal(h.src.Page())
	if err != nil {
		return fmt.Errorf("dashboard: snapshot: %w", err)
	}
	// A ResponseWriter that cannot set deadlines (a test recorder) is
	// written to without one.
	if err := rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
		return err
	}
	return rc.Flush()
}
