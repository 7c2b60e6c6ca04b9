package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/node"
)

// Every private key is written 0600, and one made readable by its group
// or others is refused with the file and the chmod that fixes it.
func TestPrivateKeysAtRest(t *testing.T) {
	dir := t.TempDir()
	if _, err := node.LoadOrCreateKey(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CreateNeighborhoodKey(dir, "oak-street"); err != nil {
		t.Fatal(err)
	}
	opKey := filepath.Join(dir, "operator.key")
	if _, err := node.CreateOperatorKey(opKey); err != nil {
		t.Fatal(err)
	}
	loads := map[string]func() error{
		filepath.Join(dir, node.KeyFile): func() error { _, err := node.LoadOrCreateKey(dir); return err },
		filepath.Join(dir, node.NeighborhoodKeyFile): func() error {
			_, _, err := node.LoadNeighborhoodKey(filepath.Join(dir, node.NeighborhoodKeyFile))
			return err
		},
		opKey: func() error { _, err := node.LoadOperatorKey(opKey); return err },
	}
	for path, load := range loads {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s written %04o, want 0600", path, perm)
		}
		if err := load(); err != nil {
			t.Errorf("%s at 0600: %v", path, err)
		}
		for _, perm := range []os.FileMode{0o640, 0o604, 0o660} {
			if err := os.Chmod(path, perm); err != nil {
				t.Fatal(err)
			}
			err := load()
			if !errors.Is(err, node.ErrKeyExposed) || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("%s at %04o: %v", path, perm, err)
			}
		}
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
