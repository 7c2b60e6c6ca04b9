package archive

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/parquet-go/parquet-go"

	"github.com/gridmesh/gridmesh"
)

func report(nb, home string, seq int, netW float64) gridmesh.Telemetry {
	return gridmesh.Telemetry{
		Version: gridmesh.WireVersion, Home: gridmesh.HomeID(home), Neighborhood: gridmesh.NeighborhoodID(nb),
		Seq: uint64(seq), AtMs: 1_796_000_000_000 + int64(seq), NetW: gridmesh.W(netW),
		Battery: gridmesh.Flexibility{SoC: 0.5, CapacityWh: 10_000},
	}
}

// files lists the tree under root: final Parquet files and anything
// else, by path relative to root.
func files(t *testing.T, root string) (final, other []string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasSuffix(d.Name(), ".parquet") && !isTemp(d.Name()) {
			final = append(final, rel)
		} else {
			other = append(other, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return final, other
}

// readAll reads every row of a telemetry file and checks its metadata.
func readTelemetry(t *testing.T, path string) []TelemetryRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if v, ok := pf.Lookup(MetaSchemaVersion); !ok || v != strconv.Itoa(SchemaVersion) {
		t.Errorf("%s: schema version metadata %q (%v)", path, v, ok)
	}
	rows, err := parquet.Read[TelemetryRow](f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if int64(len(rows)) != pf.NumRows() {
		t.Errorf("%s: read %d rows, footer says %d", path, len(rows), pf.NumRows())
	}
	return rows
}

func TestStorePartitionsAndRolls(t *testing.T) {
	root := t.TempDir()
	s := newStore(root, "tagA", time.Hour, 3)
	t0 := time.Date(2026, 12, 4, 23, 59, 0, 0, time.UTC)
	add := func(nb, home string, seq int, at time.Time) {
		t.Helper()
		if err := s.addTelemetry(telemetryRow(report(nb, home, seq, float64(seq)), "12D3KooWpeer", at)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 7; i++ { // 7 rows: two full row groups and one row buffered
		add("n0", "h1", i, t0)
	}
	add("n1", "h2", 1, t0)
	add("n0", "h1", 8, t0.Add(time.Minute)) // 00:00: the next window, the next date

	if final, _ := files(t, root); len(final) != 0 {
		t.Fatalf("files visible before any window ended: %v", final)
	}
	if _, other := files(t, root); len(other) != 3 || !slices.ContainsFunc(other, func(p string) bool { return isTemp(filepath.Base(p)) }) {
		t.Fatalf("want 3 temporary files, have %v", other)
	}

	if err := s.roll(t0.Add(time.Minute), false); err != nil { // the 23:00 window ended
		t.Fatal(err)
	}
	final, other := files(t, root)
	wantFinal := []string{
		"telemetry/date=2026-12-04/nbhd=n0/part-tagA-0001.parquet",
		"telemetry/date=2026-12-04/nbhd=n1/part-tagA-0001.parquet",
	}
	if !slices.Equal(final, wantFinal) || len(other) != 1 {
		t.Fatalf("after the first roll: final %v, other %v", final, other)
	}
	rows := readTelemetry(t, filepath.Join(root, final[0]))
	if len(rows) != 7 || rows[0].Seq != 1 || rows[6].Seq != 7 || rows[6].NetW != 7 || rows[0].SoCPct != 50 {
		t.Errorf("n0's first file: %d rows %+v", len(rows), rows)
	}
	if got := s.snapshot(); got.TelemetryRows["n0"]["h1"] != 7 || got.TelemetryRows["n1"]["h2"] != 1 || got.Tables[TableTelemetry].Files != 2 {
		t.Errorf("stats after the first roll: %+v", got)
	}

	if err := s.roll(t0, true); err != nil { // stop: every open file
		t.Fatal(err)
	}
	final, other = files(t, root)
	if len(final) != 3 || len(other) != 0 || final[2] != "telemetry/date=2026-12-05/nbhd=n0/part-tagA-0001.parquet" {
		t.Fatalf("after stop: final %v, other %v", final, other)
	}
	st := s.snapshot().Tables[TableTelemetry]
	if st.Rows != 9 || st.Files != 3 || st.Bytes <= 0 {
		t.Errorf("table stats %+v, want 9 rows in 3 files", st)
	}

	// A second archiver, and this one again, never take a name in use.
	s2 := newStore(root, "tagB", time.Hour, 3)
	s3 := newStore(root, "tagA", time.Hour, 3)
	for _, o := range []*store{s2, s3} {
		if err := o.addTelemetry(telemetryRow(report("n0", "h1", 9, 9), "p", t0)); err != nil {
			t.Fatal(err)
		}
		if err := o.roll(t0, true); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "telemetry/date=2026-12-04/nbhd=n0")
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"part-tagA-0001.parquet", "part-tagA-0002.parquet", "part-tagB-0001.parquet"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}

func TestPlanRows(t *testing.T) {
	now := time.Unix(1_796_000_000, 0)
	p := gridmesh.Plan{Version: 1, Neighborhood: "n0", Epoch: gridmesh.Epoch{Term: 2, Index: 7}, LeaseMs: 5000,
		Target: gridmesh.Target{Seq: 3, ImportW: -1500}, Setpoints: []gridmesh.Setpoint{{Home: "a", NetW: -500}, {Home: "b", NetW: -1000}}}
	rows := planRows(p, "L", now)
	if len(rows) != 2 || rows[1].Home != "b" || rows[1].SetpointW != -1000 || rows[0].Term != 2 || rows[0].RaftIndex != 7 || rows[0].TargetW != -1500 || rows[0].Leader != peer.ID("L").String() {
		t.Errorf("rows %+v", rows)
	}
	p.Setpoints = nil
	if rows := planRows(p, "L", now); len(rows) != 1 || rows[0].Home != "" {
		t.Errorf("a plan without setpoints: %+v", rows)
	}
}

// The kill -9 test: a child process (this test binary, re-executed) writes
// telemetry as fast as it can, rolling a file every second with small row
// groups; the parent kills it with SIGKILL once files are committed and
// checks that every Parquet file reads whole and nothing else but
// temporary files is left. A store started again on the tree removes the
// child's temporary files and numbers its files after the child's.
const childEnv = "GRIDMESH_ARCHIVE_CHILD_DIR"

func TestKilledArchiverLeavesWholeFiles(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		writeForever(dir)
		return
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledArchiverLeavesWholeFiles$")
	cmd.Env = append(os.Environ(), childEnv+"="+root)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if final, _ := files(t, root); len(final) >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child committed fewer than 6 files in 30 s")
		}
		time.Sleep(20 * time.Millisecond) // polling for a condition, not waiting for time to pass
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: its error says so

	final, other := files(t, root)
	var rows int
	for _, f := range final {
		rows += len(readTelemetry(t, filepath.Join(root, f)))
	}
	for _, o := range other {
		if !isTemp(filepath.Base(o)) {
			t.Errorf("%s: neither a whole file nor a temporary one", o)
		}
	}
	t.Logf("after kill -9: %d whole files with %d rows, %d temporary files", len(final), rows, len(other))
	if len(other) == 0 {
		t.Error("no temporary file: the child was not killed mid-file, the test proves nothing")
	}

	s := newStore(root, "child", time.Hour, 100)
	if err := s.removeStale(); err != nil {
		t.Fatal(err)
	}
	if _, other := files(t, root); len(other) != 0 {
		t.Errorf("stale temporary files left: %v", other)
	}
}

// writeForever is the child: it never returns; the parent kills it.
func writeForever(root string) {
	s := newStore(root, "child", time.Second, 50)
	for seq := 1; ; seq++ {
		now := time.Now()
		for h := range 4 {
			r := telemetryRow(report(fmt.Sprintf("n%d", h%2), fmt.Sprintf("h%d", h), seq, float64(seq)), "p", now)
			if err := s.addTelemetry(r); err != nil {
				panic(err)
			}
		}
		if err := s.roll(now, false); err != nil {
			panic(err)
		}
	}
}
