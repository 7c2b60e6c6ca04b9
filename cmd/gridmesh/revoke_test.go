package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
)

// `neighborhood revoke` posts a revocation of the peer, signed with the
// neighborhood's key, to the member named, and reports its refusal.
func TestNeighborhoodRevoke(t *testing.T) {
	dir := t.TempDir()
	run1 := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run1("neighborhood", "init", "--id", "feeder-1", "--out", dir); code != 0 {
		t.Fatalf("init: exit %d: %s", code, out)
	}
	_, pub, err := node.LoadNeighborhoodPublicKey(filepath.Join(dir, node.NeighborhoodPubFile))
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	victim, _ := peer.IDFromPrivateKey(k)
	var got gridmesh.Revocation
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/revocations" {
			http.NotFound(w, r)
			return
		}
		r2, perr := gridmesh.ParseRevocation(b)
		got = r2
		if refuse || perr != nil {
			w.WriteHeader(http.StatusBadGateway)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "no leader known"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"revoked": got.Peer})
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	key := filepath.Join(dir, node.NeighborhoodKeyFile)

	code, out := run1("neighborhood", "revoke", "--key", key, "--peer", victim.String(), "--home-addr", addr)
	if code != 0 || !strings.Contains(out, "revoked from feeder-1") {
		t.Fatalf("revoke: exit %d: %s", code, out)
	}
	if err := got.Verify("feeder-1", pub); err != nil || got.Peer != victim.String() {
		t.Fatalf("posted revocation of %s: %v", got.Peer, err)
	}
	refuse = true
	if code, out := run1("neighborhood", "revoke", "--key", key, "--peer", victim.String(), "--home-addr", addr); code != 1 || !strings.Contains(out, "no leader known") {
		t.Errorf("refused revocation: exit %d: %s", code, out)
	}
	for _, args := range [][]string{
		{"--key", key, "--peer", victim.String()},
		{"--key", key, "--peer", "not-a-peer", "--home-addr", addr},
		{"--key", key, "--peer", victim.String(), "--home-addr", addr, "--config", "x.yaml"},
		{"--peer", victim.String(), "--home-addr", addr},
	} {
		if code, out := run1(append([]string{"neighborhood", "revoke"}, args...)...); code != 2 {
			t.Errorf("revoke %v: exit %d, want 2: %s", args, code, out)
		}
	}
}
