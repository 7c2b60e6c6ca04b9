package node_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/node"
)

func TestLoadOrCreateKeyKeepsTheIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	k1, err := node.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := node.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := peer.IDFromPrivateKey(k1)
	id2, _ := peer.IDFromPrivateKey(k2)
	if id1 != id2 {
		t.Fatalf("identity changed across loads: %s then %s", id1, id2)
	}
	st, err := os.Stat(filepath.Join(dir, node.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if err := os.WriteFile(filepath.Join(dir, node.KeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := node.LoadOrCreateKey(dir); err == nil {
		t.Fatal("a corrupt key was accepted")
	}
}
