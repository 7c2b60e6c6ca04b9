// Package vtntest is an OpenADR 3.0.1 VTN test double, written from the
// specification: the /auth/token endpoint (OAuth2 client credentials, a
// form body), GET /programs and /events (paged by skip and limit, bearer
// token required), and POST and GET /reports. Tests put and delete
// events and read the reports VENs posted.
package vtntest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"

	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

// VTN is the test double. Its methods are safe for concurrent use.
type VTN struct {
	// URL is the base URL VENs are given.
	URL string

	srv          *httptest.Server
	clientID     string
	clientSecret string

	mu       sync.Mutex // guards everything below
	tokens   map[string]bool
	programs []oadr3.Program
	events   []oadr3.Event
	reports  []oadr3.Report
	polls    int
}

// New starts a VTN on a loopback port that admits one client. Close it.
func New(clientID, clientSecret string) *VTN {
	v := &VTN{clientID: clientID, clientSecret: clientSecret, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/token", v.token)
	mux.HandleFunc("GET /programs", v.authed(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		writeJSON(w, http.StatusOK, page(r, v.programs))
	}))
	mux.HandleFunc("GET /events", v.authed(v.listEvents))
	mux.HandleFunc("POST /reports", v.authed(v.createReport))
	mux.HandleFunc("GET /reports", v.authed(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		writeJSON(w, http.StatusOK, page(r, v.reports))
	}))
	v.srv = httptest.NewServer(mux)
	v.URL = v.srv.URL
	return v
}

// Close stops the server.
func (v *VTN) Close() { v.srv.Close() }

// PutProgram adds a program.
func (v *VTN) PutProgram(p oadr3.Program) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.programs = append(v.programs, p)
}

// PutEvent creates the event, or replaces the one with its ID (a
// modification).
func (v *VTN) PutEvent(ev oadr3.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	et := oadr3.EventObjectTypeEVENT
	ev.ObjectType = &et
	if i := slices.IndexFunc(v.events, func(e oadr3.Event) bool { return *e.Id == *ev.Id }); i >= 0 {
		v.events[i] = ev
		return
	}
	v.events = append(v.events, ev)
}

// DeleteEvent deletes the event with id (a cancellation).
func (v *VTN) DeleteEvent(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.events = slices.DeleteFunc(v.events, func(e oadr3.Event) bool { return *e.Id == id })
}

// Reports returns the reports posted so far.
func (v *VTN) Reports() []oadr3.Report {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.reports)
}

// Polls is how many GET /events were answered.
func (v *VTN) Polls() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.polls
}

// token is POST /auth/token: a form with grant_type=client_credentials,
// client_id and client_secret (RFC 6749 §4.4, as the specification's
// clientCredentialRequest).
func (v *VTN) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != v.clientID || secret != v.clientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	v.mu.Lock()
	v.tokens[tok] = true
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, oadr3.ClientCredentialResponse{AccessToken: tok, TokenType: oadr3.Bearer, ExpiresIn: ptr(3600)})
}

// authed refuses a request without a token this VTN issued.
func (v *VTN) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := stringsCutPrefix(r.Header.Get("Authorization"), "Bearer ")
		v.mu.Lock()
		known := ok && v.tokens[tok]
		v.mu.Unlock()
		if !known {
			writeJSON(w, http.StatusForbidden, oadr3.Problem{Title: ptr("Forbidden"), Status: ptr(int32(403))})
			return
		}
		h(w, r)
	}
}

func (v *VTN) listEvents(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.polls++
	evs := v.events
	if p := r.URL.Query().Get("programID"); p != "" {
		evs = slices.DeleteFunc(slices.Clone(evs), func(e oadr3.Event) bool { return e.ProgramID != p })
	}
	writeJSON(w, http.StatusOK, page(r, evs))
}

func (v *VTN) createReport(w http.ResponseWriter, r *http.Request) {
	var rep oadr3.Report
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&rep); err != nil ||
		rep.ProgramID == "" || rep.EventID == "" || rep.ClientName == "" {
		writeJSON(w, http.StatusBadRequest, oadr3.Problem{Title: ptr("Bad Request")})
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	rt := oadr3.REPORT
	rep.ObjectType = &rt
	rep.Id = ptr("report-" + strconv.Itoa(len(v.reports)+1))
	v.reports = append(v.reports, rep)
	writeJSON(w, http.StatusCreated, rep)
}

// page applies skip and limit (at most 50, the specification's bound).
func page[T any](r *http.Request, all []T) []T {
	skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 50 {
		limit = 50
	}
	skip = min(max(skip, 0), len(all))
	out := all[skip:min(skip+limit, len(all))]
	if out == nil {
		out = []T{}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ptr[T any](v T) *T { return &v }

func stringsCutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return s, false
	}
	return s[len(prefix):], true
}
