package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/node"
)

func TestNeighborhoodInitAndInvite(t *testing.T) {
	dir := t.TempDir()
	run1 := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run1("neighborhood", "init", "--id", "feeder-1", "--out", dir); code != 0 {
		t.Fatalf("init: exit %d: %s", code, out)
	}
	if code, _ := run1("neighborhood", "init", "--id", "feeder-1", "--out", dir); code != 1 {
		t.Errorf("init over an existing key: exit %d, want 1", code)
	}
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	cert := filepath.Join(dir, "h7.membership")
	code, out := run1("neighborhood", "invite", "--key", filepath.Join(dir, node.NeighborhoodKeyFile),
		"--peer", id.String(), "--home", "h7", "--valid", "720h", "--out", cert)
	if code != 0 || !strings.Contains(out, "admitted to feeder-1") {
		t.Fatalf("invite: exit %d: %s", code, out)
	}
	adm, err := node.LoadAdmission(filepath.Join(dir, node.NeighborhoodPubFile), cert, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if adm.Own.Peer != id.String() || adm.Own.Home != "h7" || adm.Own.Expires().Sub(time.Now()) > 720*time.Hour {
		t.Errorf("certificate %+v", adm.Own)
	}

	for _, args := range [][]string{
		{"neighborhood"},
		{"neighborhood", "revoke"},
		{"neighborhood", "init", "--out", dir},
		{"neighborhood", "init", "--id", "a/b", "--out", dir},
		{"neighborhood", "invite", "--key", "k", "--peer", "p", "--home", "h"},
		{"neighborhood", "invite", "--key", "k", "--peer", "p", "--home", "h", "--out", "f", "--valid", "-1h"},
	} {
		if code, out := run1(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, out)
		}
	}
	if code, _ := run1("neighborhood", "invite", "--key", filepath.Join(dir, node.NeighborhoodKeyFile),
		"--peer", "not-a-peer", "--home", "h7", "--out", cert); code != 1 {
		t.Errorf("invite for a bad peer ID: exit %d, want 1", code)
	}
}
