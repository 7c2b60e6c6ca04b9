package archive

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// table is one table's open files, one per partition of the current
// window(s). It is owned by its store, under the store's lock.
type table[R any] struct {
	name  string
	open  map[partition]*partFile[R]
	stats *TableStats
}

// TableStats counts one table's committed output.
type TableStats struct {
	// Rows and Files count what committed files hold; Bytes their size.
	Rows, Files, Bytes int64
}

// Stats is what an archiver has written so far, by table (TableTelemetry,
// ...), and the telemetry rows committed per neighborhood and home.
type Stats struct {
	Tables map[string]TableStats
	// TelemetryRows counts committed telemetry rows by neighborhood,
	// then home.
	TelemetryRows map[string]map[string]int64
}

// store routes rows to their partitions' files and rolls them. Every
// method takes mu, which guards everything below it: receivers of
// several topics call it at once.
type store struct {
	root      string
	tag       string
	every     time.Duration
	groupRows int

	mu         sync.Mutex
	telemetry  table[TelemetryRow]
	plans      table[PlanRow]
	signals    table[SignalRow]
	aggregates table[AggregateRow]
	stats      map[string]*TableStats
	// pendingOf counts telemetry rows per neighborhood and home in each
	// open file; they move to committed when their file is.
	pendingOf map[*partFile[TelemetryRow]]map[string]map[string]int64
	committed map[string]map[string]int64
}

func newStore(root, tag string, every time.Duration, groupRows int) *store {
	s := &store{
		root: root, tag: tag, every: every, groupRows: groupRows,
		stats:     make(map[string]*TableStats),
		committed: make(map[string]map[string]int64),
		pendingOf: make(map[*partFile[TelemetryRow]]map[string]map[string]int64),
	}
	for _, n := range []string{TableTelemetry, TablePlans, TableSignals, TableAggregates} {
		s.stats[n] = &TableStats{}
	}
	s.telemetry = table[TelemetryRow]{name: TableTelemetry, open: map[partition]*partFile[TelemetryRow]{}, stats: s.stats[TableTelemetry]}
	s.plans = table[PlanRow]{name: TablePlans, open: map[partition]*partFile[PlanRow]{}, stats: s.stats[TablePlans]}
	s.signals = table[SignalRow]{name: TableSignals, open: map[partition]*partFile[SignalRow]{}, stats: s.stats[TableSignals]}
	s.aggregates = table[AggregateRow]{name: TableAggregates, open: map[partition]*partFile[AggregateRow]{}, stats: s.stats[TableAggregates]}
	return s
}

// removeStale deletes this archiver's temporary files left under root by
// a crash: their rows are lost (a file without its footer is no Parquet
// file), and leaving them would only confuse whoever lists the tree.
// Other archivers' files, temporary or not, are left alone.
func (s *store) removeStale() error {
	prefix := tempPrefix + "part-" + s.tag + "-"
	return filepath.WalkDir(s.root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && isTemp(d.Name()) && len(d.Name()) > len(prefix) && d.Name()[:len(prefix)] == prefix {
			return os.Remove(path)
		}
		return nil
	})
}

func (s *store) addTelemetry(r TelemetryRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := addRows(s, &s.telemetry, partition{TableTelemetry, windowOf(r.ReceivedAt, s.every), r.Nbhd}, r)
	if err != nil {
		return err
	}
	byHome := s.pendingOf[p]
	if byHome == nil {
		byHome = make(map[string]map[string]int64)
		s.pendingOf[p] = byHome
	}
	bump(byHome, r.Nbhd, r.Home, 1)
	return nil
}

func (s *store) addPlan(rows []PlanRow) error {
	if len(rows) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := addRows(s, &s.plans, partition{TablePlans, windowOf(rows[0].ReceivedAt, s.every), rows[0].Nbhd}, rows...)
	return err
}

func (s *store) addSignal(r SignalRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := addRows(s, &s.signals, partition{TableSignals, windowOf(r.ReceivedAt, s.every), ""}, r)
	return err
}

func (s *store) addAggregate(r AggregateRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := addRows(s, &s.aggregates, partition{TableAggregates, windowOf(r.ReceivedAt, s.every), r.Nbhd}, r)
	return err
}

// addRows appends rows to part's file in t, opening it if needed, and
// returns the file.
func addRows[R any](s *store, t *table[R], part partition, rows ...R) (*partFile[R], error) {
	p := t.open[part]
	if p == nil {
		var err error
		if p, err = createPart[R](s.root, part.dir(s.root), t.name, s.tag, s.groupRows); err != nil {
			return nil, err
		}
		t.open[part] = p
	}
	return p, p.add(rows...)
}

// roll commits every file whose window ended at or before now; with
// all, every open file (on stop).
func (s *store) roll(now time.Time, all bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	due := func(p partition) bool { return all || !now.Before(p.start.Add(s.every)) }
	return errors.Join(
		rollTable(&s.telemetry, due, func(p *partFile[TelemetryRow]) {
			for nb, homes := range s.pendingOf[p] {
				for h, n := range homes {
					bump(s.committed, nb, h, n)
				}
			}
			delete(s.pendingOf, p)
		}),
		rollTable(&s.plans, due, nil),
		rollTable(&s.signals, due, nil),
		rollTable(&s.aggregates, due, nil),
	)
}

// rollTable commits t's files whose partition is due, calling done for
// each committed one. A file that fails to commit is dropped (its
// temporary file removed if possible) and its error returned.
func rollTable[R any](t *table[R], due func(partition) bool, done func(*partFile[R])) error {
	var errs []error
	for part, p := range t.open {
		if !due(part) {
			continue
		}
		delete(t.open, part)
		_, size, err := p.commit()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.stats.Rows += int64(p.rows)
		t.stats.Files++
		t.stats.Bytes += size
		if done != nil {
			done(p)
		}
	}
	return errors.Join(errs...)
}

// snapshot returns the committed figures.
func (s *store) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Tables: make(map[string]TableStats, len(s.stats)), TelemetryRows: make(map[string]map[string]int64)}
	for n, t := range s.stats {
		st.Tables[n] = *t
	}
	for nb, homes := range s.committed {
		for h, n := range homes {
			bump(st.TelemetryRows, nb, h, n)
		}
	}
	return st
}

func bump(m map[string]map[string]int64, a, b string, n int64) {
	if m[a] == nil {
		m[a] = make(map[string]int64)
	}
	m[a][b] += n
}
