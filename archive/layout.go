package archive

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// tempPrefix and tempSuffix frame the name of a file being written: a
// leading dot hides it from Spark and Hive, and the suffix from every
// reader's *.parquet glob. Only the rename to its final name, after the
// footer is written and synced, makes a file visible.
const (
	tempPrefix = "."
	tempSuffix = ".tmp"
)

// partition is where one file's rows go: a table, the window of receive
// time it covers, and the neighborhood ("" for the signals table, which
// belongs to the region).
type partition struct {
	table string
	start time.Time // window start, UTC
	nbhd  string
}

// windowOf returns the start of the roll window holding t: t truncated to
// a multiple of every since the Unix epoch, in UTC (with every = 1 h: the
// hour).
func windowOf(t time.Time, every time.Duration) time.Time {
	return t.UTC().Truncate(every)
}

// dir is the partition's directory under root:
// <table>/date=YYYY-MM-DD[/nbhd=<id>].
func (p partition) dir(root string) string {
	d := filepath.Join(root, p.table, "date="+p.start.Format(time.DateOnly))
	if p.nbhd != "" {
		d = filepath.Join(d, "nbhd="+p.nbhd)
	}
	return d
}

// fileName is a final file's name: part-<tag>-<seq>.parquet, seq zero-
// padded to four digits (more when it outgrows them). tag names the
// archiver, so several archivers never write the same name.
func fileName(tag string, seq int) string {
	return fmt.Sprintf("part-%s-%04d.parquet", tag, seq)
}

// tempName is the name a file is written under before its rename.
func tempName(final string) string { return tempPrefix + final + tempSuffix }

// isTemp reports whether name is a file still being written (or left by a
// crash).
func isTemp(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.HasSuffix(name, tempSuffix)
}

// nextSeq returns the sequence number for tag's next file in a directory
// holding names: one above the highest of tag's final or temporary files
// there, 1 if none.
func nextSeq(names []string, tag string) int {
	prefix := "part-" + tag + "-"
	high := 0
	for _, n := range names {
		n = strings.TrimSuffix(strings.TrimPrefix(n, tempPrefix), tempSuffix)
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok {
			continue
		}
		if s, err := strconv.Atoi(strings.TrimSuffix(rest, ".parquet")); err == nil && s > high {
			high = s
		}
	}
	return high + 1
}

// tagOf names an archiver in its files: the last tagLen characters of its
// peer ID (ed25519 peer IDs all start alike, "12D3KooW").
func tagOf(peerID string) string {
	return peerID[max(0, len(peerID)-tagLen):]
}

// tagLen: 10 base58 characters are 58 bits, so two archivers' tags
// collide with odds of one in 10^17.
const tagLen = 10

// peerOf returns the peer ID of key, as a string.
func peerOf(key crypto.PrivKey) (string, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("archive: peer ID: %w", err)
	}
	return id.String(), nil
}
