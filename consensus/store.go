package consensus

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

const (
	// logFile is the bolt database, under DataDir, holding the log and
	// the stable store (current term, vote).
	logFile = "raft.db"
	// snapshotsRetained is how many snapshots stay on disk. Why 2: the
	// newest to restore from, and the one before in case the newest was
	// cut short by a crash.
	snapshotsRetained = 2
	// boltOpenTimeout bounds the wait for bolt's file lock. Why: bolt
	// otherwise waits forever when a second process opens the same
	// DataDir; a second home on one directory must fail, not hang.
	boltOpenTimeout = time.Second
)

// stores are a member's log, stable and snapshot stores, and how to close
// them.
type stores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	close  func() error
}

// openStores opens the durable stores under dir (fsync on every write), or
// memory stores when dir is "".
func openStores(dir string, log hclog.Logger) (stores, error) {
	if dir == "" {
		mem := raft.NewInmemStore()
		return stores{logs: mem, stable: mem, snaps: raft.NewInmemSnapshotStore(), close: func() error { return nil }}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return stores{}, fmt.Errorf("consensus data dir: %w", err)
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, logFile),
		BoltOptions: &bbolt.Options{Timeout: boltOpenTimeout},
		NoSync:      false, // a vote or entry forgotten in a crash breaks Raft's safety
	})
	if err != nil {
		return stores{}, fmt.Errorf("open raft log %s: %w", filepath.Join(dir, logFile), err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, log.Named("snapshots"))
	if err != nil {
		_ = bolt.Close()
		return stores{}, fmt.Errorf("open raft snapshots in %s: %w", dir, err)
	}
	return stores{logs: bolt, stable: bolt, snaps: snaps, close: bolt.Close}, nil
}
