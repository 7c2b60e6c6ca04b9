package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node"
)

// An archiver is invited like a home: `archive id` prints the peer ID it
// uses in the neighborhood (the same on every run), `neighborhood
// invite` certifies it, and `archive` opens its mesh with that
// certificate and stops cleanly, leaving an empty archive.
func TestArchiveCommandIsInvitedLikeAHome(t *testing.T) {
	dir := t.TempDir()
	run1 := func(ctx context.Context, args ...string) (int, string, string) {
		var out, errb syncBuffer // gossipsub logs while it winds down
		code := run(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	bg := context.Background()
	keys := filepath.Join(dir, "keys")
	if code, out, errs := run1(bg, "neighborhood", "init", "--id", "oak", "--out", keys); code != 0 {
		t.Fatalf("init: exit %d: %s%s", code, out, errs)
	}
	data := filepath.Join(dir, "data")
	code, out, errs := run1(bg, "archive", "id", "--data-dir", data, "--neighborhood", "oak")
	fields := strings.Fields(out)
	if code != 0 || len(fields) != 2 || fields[0] != "oak" || !strings.HasPrefix(fields[1], "12D3KooW") {
		t.Fatalf("archive id: exit %d: %q %s", code, out, errs)
	}
	if _, again, _ := run1(bg, "archive", "id", "--data-dir", data, "--neighborhood", "oak"); again != out {
		t.Errorf("archive id printed %q, then %q", out, again)
	}
	cert := filepath.Join(dir, "archive.cert")
	if code, out, errs := run1(bg, "neighborhood", "invite", "--key", filepath.Join(keys, node.NeighborhoodKeyFile),
		"--peer", fields[1], "--home", "archive-1", "--out", cert); code != 0 {
		t.Fatalf("invite: exit %d: %s%s", code, out, errs)
	}
	archiveDir := filepath.Join(dir, "archive")
	ctx, cancel := context.WithTimeout(bg, 2*time.Second)
	defer cancel()
	code, out, errs = run1(ctx, "archive", "--dir", archiveDir, "--data-dir", data, "--network", "city",
		"--listen", "/ip4/127.0.0.1/tcp/0",
		"--bootstrap", "/ip4/127.0.0.1/tcp/1/p2p/"+fields[1], // nobody there: it redials until stopped
		"--neighborhood", "oak:"+filepath.Join(keys, node.NeighborhoodPubFile)+":"+cert)
	if code != 0 || !strings.Contains(errs, "archiving 1 neighborhoods to "+archiveDir) {
		t.Fatalf("archive: exit %d: %s%s", code, out, errs)
	}
	if ents, err := os.ReadDir(archiveDir); err == nil && len(ents) != 0 {
		t.Errorf("an archive of nothing holds %d entries", len(ents))
	}

	if code, _, _ := run1(bg, "archive", "--dir", archiveDir); code != 2 {
		t.Errorf("archive without --data-dir and --neighborhood: exit %d, want 2", code)
	}
	if code, _, _ := run1(bg, "archive", "id", "--data-dir", data, "--neighborhood", "oak:only-one-file"); code != 2 {
		t.Errorf("archive id with a malformed --neighborhood: exit %d, want 2", code)
	}
}
