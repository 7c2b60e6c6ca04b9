package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheckCommand runs `gridmesh healthcheck` against a loopback
// server standing in for a home: exit 0 on 200 from /healthz, 1 on an
// error status, on a wrong path and on a closed port.
func TestHealthcheckCommand(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte("reason here"))
	}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	closed := closedAddr(t)

	for _, tc := range []struct {
		name     string
		status   int
		addr     string
		wantCode int
		wantErr  string
	}{
		{"healthy", http.StatusOK, addr, 0, ""},
		{"unhealthy", http.StatusServiceUnavailable, addr, 1, "503"},
		{"nothing listening", http.StatusOK, closed, 1, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status = tc.status
			var out, errOut bytes.Buffer
			code := run(t.Context(), []string{"healthcheck", "--addr", tc.addr}, &out, &errOut)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

// closedAddr is a loopback address nothing listens on: a port taken from
// :0 and given back.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
