package node

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// The owner API and the health endpoints, beside /status on the home's
// HTTP listener (docs/API.md):
//
//	GET  /api/v1/settings   the owner's settings (bearer token)
//	PUT  /api/v1/settings   change them: a partial control.OwnerChange (bearer token)
//	GET  /healthz           200 while the process runs and its loop ticks
//	GET  /readyz            200 while the home reads its devices, its network is
//	                        open and its loop follows a plan or its fallback

// maxSettingsBody bounds a PUT's body: a change is well under 200 bytes.
const maxSettingsBody = 4 << 10

// ownerRoutes adds the owner API and the health endpoints to mux.
func (n *Node) ownerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/settings", n.authorized(n.getSettings))
	mux.HandleFunc("PUT /api/v1/settings", n.authorized(n.putSettings))
	mux.HandleFunc("POST /api/v1/revocations", n.postRevocation) // revocation.go
	mux.HandleFunc("GET /healthz", n.serveHealth)
	mux.HandleFunc("GET /readyz", n.serveReady)
}

// authorized refuses a request without the owner's bearer token (401).
func (n *Node) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := n.OwnerToken()
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(tok)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gridmesh"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing or wrong bearer token (see <data dir>/owner-token)"})
			return
		}
		h(w, r)
	}
}

// apiError is the body of a refused request.
type apiError struct {
	Error string `json:"error"`
}

func (n *Node) getSettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, n.ownerStatus())
}

// putSettings decodes a change strictly (an unknown field is refused),
// applies it and answers with the settings now.
func (n *Node) putSettings(w http.ResponseWriter, r *http.Request) {
	var c control.OwnerChange
	dec := json.NewDecoder(io.LimitReader(r.Body, maxSettingsBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "decode: " + err.Error()})
		return
	}
	if _, err := n.ChangeOwnerSettings(c); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, gridmesh.ErrInvalid) {
			code = http.StatusBadRequest
		}
		writeJSON(w, code, apiError{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, n.ownerStatus())
}

// Health is the body of /healthz and /readyz: whether the home is
// healthy (ready) and each check with what it found.
type Health struct {
	OK     bool            `json:"ok"`
	Checks map[string]bool `json:"checks"`
	// LastTickAgoMs is how long ago the device loop last ticked (-1:
	// never).
	LastTickAgoMs int64 `json:"last_tick_ago_ms"`
}

// tickStaleAfter is how many loop periods without a tick make a home
// unhealthy. Why 20 (2 s at the default 100 ms): a loaded machine misses
// a few ticks (counted in loop_ticks_missed) without the process being
// stuck; a loop silent for twenty periods is.
const tickStaleAfter = 20

// health reports whether the loop ticked within tickStaleAfter periods.
func (n *Node) health(now time.Time) Health {
	h := Health{Checks: map[string]bool{}, LastTickAgoMs: -1}
	at := n.stats.lastTick.Load()
	if at != 0 {
		ago := now.Sub(time.Unix(0, at))
		h.LastTickAgoMs = ago.Milliseconds()
		h.Checks["loop_ticking"] = ago <= tickStaleAfter*n.cfg.LoopPeriod
	} else {
		h.Checks["loop_ticking"] = false
	}
	h.OK = h.Checks["loop_ticking"]
	return h
}

// readiness adds to health what /readyz checks (docs/API.md): the newest
// tick read the battery and the meter, the network (host, Raft group,
// topics) is open, and the loop decided a command from its readings,
// following a plan or its self-consumption fallback.
func (n *Node) readiness(now time.Time) Health {
	h := n.health(now)
	snap := n.stats.loop.Load()
	h.Checks["devices_read"] = snap != nil && snap.BatteryOK && snap.MeterOK
	h.Checks["network_open"] = n.up.Load() != nil
	h.Checks["plan_or_fallback"] = snap != nil && !snap.Command.Held
	for _, ok := range h.Checks {
		h.OK = h.OK && ok
	}
	return h
}

func (n *Node) serveHealth(w http.ResponseWriter, _ *http.Request) {
	writeHealth(w, n.health(time.Now()))
}
func (n *Node) serveReady(w http.ResponseWriter, _ *http.Request) {
	writeHealth(w, n.readiness(time.Now()))
}

func writeHealth(w http.ResponseWriter, h Health) {
	code := http.StatusOK
	if !h.OK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// writeJSON answers with v as JSON and code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}
