package testnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

// duckDBVersion is the @duckdb/node-api release the archive test reads
// with: it ships prebuilt bindings for linux-x64 (glibc) and runs on
// Node.js 20.
const duckDBVersion = "1.5.6-r.1"

// duckDB returns a directory holding node_modules/@duckdb/node-api,
// installing it with npm into the user's cache directory on first use
// (GRIDMESH_DUCKDB_DIR overrides where).
func duckDB(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GRIDMESH_DUCKDB_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "gridmesh", "duckdb-node-api-"+duckDBVersion)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err == nil {
		return dir
	}
	// Install beside it, then rename: a half-finished install is never
	// taken for a whole one.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", tmp, "@duckdb/node-api@"+duckDBVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install @duckdb/node-api@%s: %v\n%s", duckDBVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(filepath.Join(dir, "node_modules")); serr != nil { // another test run won the race: fine
			t.Fatal(err)
		}
	}
	return dir
}

// duckReport is what testdata/archive_check.mjs prints.
type duckReport struct {
	Files []struct {
		File          string `json:"file"`
		Rows          int64  `json:"rows"`
		SchemaVersion int    `json:"schema_version"`
	} `json:"files"`
	Tables map[string]int64 `json:"tables"`
	Homes  []struct {
		Nbhd, Home string
		Rows, Seqs int64
		MinSeq     int64   `json:"min_seq"`
		MaxSeq     int64   `json:"max_seq"`
		NetWSum    float64 `json:"net_w_sum"`
		SoCPctMin  float64 `json:"soc_pct_min"`
		SoCPctMax  float64 `json:"soc_pct_max"`
	} `json:"homes"`
	Nbhds []struct {
		Nbhd    string
		Rows    int64
		NetWSum float64 `json:"net_w_sum"`
		Homes   int64
	} `json:"nbhds"`
}

// readArchive runs testdata/archive_check.mjs on dir with DuckDB.
func readArchive(t *testing.T, dir string) duckReport {
	t.Helper()
	duck := duckDB(t)
	script, err := os.ReadFile("testdata/archive_check.mjs")
	if err != nil {
		t.Fatal(err)
	}
	// Node resolves the package from the script's directory up.
	run := t.TempDir()
	if err := os.WriteFile(filepath.Join(run, "archive_check.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(duck, "node_modules"), filepath.Join(run, "node_modules")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("node", filepath.Join(run, "archive_check.mjs"), dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("DuckDB reading the archive: %v\n%s", err, stderr.String())
	}
	var rep duckReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("DuckDB's answer: %v\n%s", err, stdout.String())
	}
	return rep
}

// A city with an archiver: DuckDB reads every file the archiver wrote,
// whole, and finds per table, neighborhood and home the rows the
// archiver says it wrote; per home, every report from the first the
// archive holds to the last the home published, each once.
func TestArchiveIsReadByDuckDB(t *testing.T) {
	cfg := testnet.DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 2
	cfg.Duration = 20 * time.Second
	cfg.Scenarios = []string{testnet.ScenarioDR, testnet.ScenarioLeaderKill}
	cfg.Archive = t.TempDir()
	rep, err := testnet.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %q", rep.Errors)
	}
	a := rep.Archive
	if a == nil || a.Files == 0 || a.Rows["telemetry"] == 0 || a.Rows["plans"] == 0 || a.Rows["aggregates"] == 0 || a.Rows["signals"] == 0 {
		t.Fatalf("archive report %+v: want rows in every table", a)
	}

	duck := readArchive(t, cfg.Archive)
	checkFiles(t, cfg.Archive, a, duck)
	for table, n := range a.Rows {
		if duck.Tables[table] != n {
			t.Errorf("table %s: DuckDB reads %d rows, the archiver wrote %d", table, duck.Tables[table], n)
		}
	}
	byHome := map[string]int{}
	for i, h := range duck.Homes {
		byHome[h.Home] = i
	}
	perNbhd := map[string]int64{}
	var published, archived int64
	for _, h := range a.Homes {
		i, ok := byHome[string(h.Home)]
		if !ok {
			t.Errorf("%s: no telemetry in the archive (published %d)", h.Home, h.Published)
			continue
		}
		d := duck.Homes[i]
		switch {
		case d.Nbhd != string(h.Neighborhood) || d.Rows != h.Archived:
			t.Errorf("%s: DuckDB reads %d rows in %s, the archiver wrote %d in %s", h.Home, d.Rows, d.Nbhd, h.Archived, h.Neighborhood)
		case d.Seqs != d.Rows || d.MaxSeq-d.MinSeq+1 != d.Rows:
			t.Errorf("%s: %d rows, %d seqs from %d to %d: a report missing or twice", h.Home, d.Rows, d.Seqs, d.MinSeq, d.MaxSeq)
		case d.MaxSeq != int64(h.Published):
			t.Errorf("%s: the archive ends at report %d, the home published %d", h.Home, d.MaxSeq, h.Published)
		case d.SoCPctMin < 0 || d.SoCPctMax > 100:
			t.Errorf("%s: soc_pct in [%v, %v]", h.Home, d.SoCPctMin, d.SoCPctMax)
		}
		perNbhd[d.Nbhd] += d.Rows
		published += int64(h.Published)
		archived += d.Rows
	}
	var sumHomes float64
	for _, h := range duck.Homes {
		sumHomes += h.NetWSum
	}
	var sumNbhds float64
	for _, nb := range duck.Nbhds {
		if nb.Rows != perNbhd[nb.Nbhd] || nb.Homes != int64(cfg.Homes/cfg.Neighborhoods) {
			t.Errorf("%s: DuckDB reads %d rows of %d homes, the homes' rows add to %d", nb.Nbhd, nb.Rows, nb.Homes, perNbhd[nb.Nbhd])
		}
		sumNbhds += nb.NetWSum
	}
	if math.Abs(sumHomes-sumNbhds) > 1e-6*math.Max(1, math.Abs(sumHomes)) {
		t.Errorf("net_w summed by home %v, by neighborhood %v", sumHomes, sumNbhds)
	}
	t.Logf("archive: %d files, %d bytes, rows %v; telemetry %d archived of %d published", a.Files, a.Bytes, a.Rows, archived, published)
}

// checkFiles: every file in the tree is a whole Parquet file of the
// current schema that DuckDB read on its own, and they are the files the
// archiver says it committed.
func checkFiles(t *testing.T, root string, a *testnet.ArchiveReport, duck duckReport) {
	t.Helper()
	var onDisk int64
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		onDisk++
		if !strings.HasSuffix(p, ".parquet") || strings.HasPrefix(d.Name(), ".") || !strings.Contains(d.Name(), a.Tag) {
			t.Errorf("%s: not a committed file of the archiver", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if onDisk != a.Files || int64(len(duck.Files)) != a.Files {
		t.Errorf("%d files on disk, %d read by DuckDB, %d committed", onDisk, len(duck.Files), a.Files)
	}
	for _, f := range duck.Files {
		if f.SchemaVersion != 1 || f.Rows == 0 {
			t.Errorf("%s: schema version %d, %d rows", f.File, f.SchemaVersion, f.Rows)
		}
	}
}
