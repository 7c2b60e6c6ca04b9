package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// partFile is one Parquet file being written: rows are buffered, written
// as a row group to the temporary file every rowGroupRows rows (so memory
// stays bounded however long the window), and the file is renamed to its
// final name by commit once complete and synced. It is owned by its
// table, under the store's lock.
type partFile[R any] struct {
	root       string // the archive's root: directories up to it are synced on commit
	dir, final string
	f          *os.File
	w          *parquet.GenericWriter[R]
	buf        []R
	groupRows  int
	rows       int
}

// createPart opens a new temporary file in dir for tag's next file of
// table.
func createPart[R any](root, dir, table, tag string, groupRows int) (*partFile[R], error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	final := fileName(tag, nextSeq(names, tag))
	f, err := os.OpenFile(filepath.Join(dir, tempName(final)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	w := parquet.NewGenericWriter[R](f,
		parquet.Compression(&parquet.Snappy), // every engine reads it; zstd packs tighter but older Hive readers lack it
		parquet.KeyValueMetadata(MetaSchemaVersion, strconv.Itoa(SchemaVersion)),
		parquet.KeyValueMetadata(MetaTable, table),
		parquet.CreatedBy("gridmesh archive", "", ""),
	)
	return &partFile[R]{root: root, dir: dir, final: final, f: f, w: w, groupRows: groupRows, buf: make([]R, 0, groupRows)}, nil
}

// add buffers rows, writing a row group whenever groupRows are buffered.
func (p *partFile[R]) add(rows ...R) error {
	for _, r := range rows {
		p.buf = append(p.buf, r)
		p.rows++
		if len(p.buf) >= p.groupRows {
			if err := p.flushGroup(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushGroup writes the buffered rows as one row group.
func (p *partFile[R]) flushGroup() error {
	if len(p.buf) == 0 {
		return nil
	}
	if _, err := p.w.Write(p.buf); err != nil {
		return fmt.Errorf("archive: write %s: %w", p.final, err)
	}
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("archive: write %s: %w", p.final, err)
	}
	clear(p.buf)
	p.buf = p.buf[:0]
	return nil
}

// commit writes what is buffered and the footer, syncs the file, renames
// it to its final name and syncs the directory: from then on the file is
// complete whatever happens to the process or the machine. It returns
// the final path and the file's size.
func (p *partFile[R]) commit() (string, int64, error) {
	err := p.flushGroup()
	if err == nil {
		err = p.w.Close()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	tmp, final := filepath.Join(p.dir, tempName(p.final)), filepath.Join(p.dir, p.final)
	if err != nil {
		return "", 0, errors.Join(fmt.Errorf("archive: finish %s: %w", final, err), os.Remove(tmp))
	}
	st, err := os.Stat(tmp)
	if err == nil {
		err = os.Rename(tmp, final)
	}
	// The rename, and the directories a new partition made, are durable
	// once each directory up to the root is synced.
	for d := p.dir; err == nil; d = filepath.Dir(d) {
		err = syncDir(d)
		if d == p.root || d == filepath.Dir(d) {
			break
		}
	}
	if err != nil {
		return "", 0, fmt.Errorf("archive: commit %s: %w", final, err)
	}
	return final, st.Size(), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
