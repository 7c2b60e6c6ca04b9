package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// A home keeps small state files under Config.DataDir (owner settings,
// energy totals): versioned JSON objects, written whole and read
// strictly, so a damaged or foreign file is refused with a reason rather
// than half-read.

// decodeStateFile decodes b, at most maxBytes long, into v strictly: one
// JSON object, no unknown fields, nothing after it. The caller checks
// the version and the values.
func decodeStateFile(b []byte, maxBytes int, v any) error {
	if len(b) > maxBytes {
		return fmt.Errorf("%d bytes, more than %d", len(b), maxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the object")
	}
	return nil
}

// writeFileAtomic replaces path with data: readers see the old file or
// the new one whole, also across a crash.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name()) // best effort: the write already failed
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Sync the directory so the rename itself survives a crash.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // not every file system syncs a directory
		_ = d.Close()
	}
	return nil
}
