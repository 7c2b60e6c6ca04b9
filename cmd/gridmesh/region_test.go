package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
)

func TestKeygenWritesAKeyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "operator.key")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"keygen", "--out", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	priv, err := node.LoadOperatorKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pub := node.FormatOperatorKey(priv.Public().(ed25519.PublicKey))
	if !strings.Contains(out.String(), pub) {
		t.Errorf("output %q does not print the public key %s", out.String(), pub)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v", st.Mode(), err)
	}
	if code := run(context.Background(), []string{"keygen", "--out", path}, &out, &errb); code != 1 {
		t.Errorf("a second keygen over the key: exit %d", code)
	}
}

func TestSignalUsageErrors(t *testing.T) {
	key := filepath.Join(t.TempDir(), "operator.key")
	if _, err := node.CreateOperatorKey(key); err != nil {
		t.Fatal(err)
	}
	boot := "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
	for _, args := range [][]string{
		{"signal"},
		{"signal", "--key", key, "--bootstrap", boot, "--network", "demo"},
		{"signal", "--key", key, "--bootstrap", boot, "--network", "demo", "--cut-kw", "5", "--signal", "x.csv"},
		{"signal", "--key", key, "--bootstrap", boot, "--network", "demo", "--signal", "x.csv"},
		{"signal", "--key", key, "--bootstrap", boot, "--network", "demo", "--cut-kw", "5", "--start", "soon"},
		{"signal", "--key", key, "--bootstrap", "nowhere", "--network", "demo", "--cut-kw", "5"},
		{"testnet", "--scenario", "regulation", "--signal", filepath.Join(t.TempDir(), "missing.csv")},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	if got, err := parseStart("+90s", now); err != nil || !got.Equal(now.Add(90*time.Second)) {
		t.Errorf("+90s: %v %v", got, err)
	}
	if got, err := parseStart("2026-11-25T19:00:00Z", now); err != nil || !got.Equal(now.Add(time.Hour)) {
		t.Errorf("RFC 3339: %v %v", got, err)
	}
	for _, bad := range []string{"+-1s", "tomorrow", "+"} {
		if _, err := parseStart(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The flags become the signal asked for: a cut with its window, or a
// regulation signal lasting its CSV's rows unless --duration says.
func TestParseSignal(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "reg.csv")
	if err := os.WriteFile(csv, []byte("time_s,value\n0,0.5\n2,-0.25\n4,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	op := []string{"--key", "k", "--bootstrap", "b", "--network", "n"}
	for _, tc := range []struct {
		args       []string
		kind       gridmesh.SignalKind
		amount     gridmesh.W
		start, end time.Time
		values     int
	}{
		{[]string{"--cut-kw", "5", "--start", "+1m", "--duration", "30m"}, gridmesh.SignalCutImport, 5000, now.Add(time.Minute), now.Add(31 * time.Minute), 0},
		{[]string{"--signal", csv, "--capacity-kw", "2"}, gridmesh.SignalRegulation, 2000, now, now.Add(6 * time.Second), 3},
		{[]string{"--signal", csv, "--capacity-kw", "2", "--duration", "1h"}, gridmesh.SignalRegulation, 2000, now, now.Add(time.Hour), 3},
	} {
		req, _, err := parseSignal(append(append([]string{}, op...), tc.args...), io.Discard, now)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if req.sig.Kind != tc.kind || req.sig.AmountW != tc.amount || !req.sig.Start().Equal(tc.start) || !req.sig.End().Equal(tc.end) || len(req.values) != tc.values {
			t.Errorf("%v: got %+v with %d values", tc.args, req.sig, len(req.values))
		}
	}
}
