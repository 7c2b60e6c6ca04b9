package node_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

// value returns the sample of family name whose labels include every
// name, value pair of labels, from g.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// scrape fetches a home's /metrics.
func scrape(t *testing.T, n *node.Node) []byte {
	t.Helper()
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	return body
}

// promtool returns the path of Prometheus's promtool. A missing promtool
// fails the test: CI installs it (Debian's prometheus package, .ci/run).
func promtool(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"promtool", "/usr/bin/promtool"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("promtool not found: install Debian's prometheus package (apt-get install prometheus)")
	return ""
}

// promtoolLintFailed is promtool's exit code when the page parsed but
// the lint found problems (1 is a page that does not parse).
const promtoolLintFailed = 3

// checkMetrics runs promtool check metrics on page.
func checkMetrics(tool string, page []byte) ([]byte, error) {
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(page)
	return cmd.CombinedOutput()
}

// gridmeshOnly keeps the lines of page's gridmesh_* families.
func gridmeshOnly(page []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(page), "\n") {
		if strings.HasPrefix(line, "gridmesh_") || strings.HasPrefix(line, "# HELP gridmesh_") || strings.HasPrefix(line, "# TYPE gridmesh_") {
			out.WriteString(line)
		}
	}
	return out.Bytes()
}

// The families every running home with a plan, battery and meter serves.
var wantFamilies = []string{
	"gridmesh_home_info", "gridmesh_loop_ticks_total", "gridmesh_loop_ticks_missed_total",
	"gridmesh_loop_tick_duration_seconds", "gridmesh_plan_following", "gridmesh_plan_epoch_term",
	"gridmesh_plan_epoch_index", "gridmesh_plan_age_seconds", "gridmesh_leader", "gridmesh_voter",
	"gridmesh_raft_term", "gridmesh_raft_commit_index", "gridmesh_raft_last_contact_seconds",
	"gridmesh_raft_malformed_rpcs_total",
	"gridmesh_gossip_messages_received_total", "gridmesh_gossip_messages_sent_total",
	"gridmesh_gossip_messages_rejected_total", "gridmesh_peers_connected",
	"gridmesh_gossip_rpcs_total", "gridmesh_gossip_rpc_bytes_total", "gridmesh_gossip_control_sent_total",
	"gridmesh_device_breaker_state", "gridmesh_device_errors_total",
	"gridmesh_signals_received_total", "gridmesh_signals_refused_total",
	"gridmesh_component_restarts_total", "gridmesh_energy_grid_import_joules_total",
	"gridmesh_energy_grid_export_joules_total", "gridmesh_energy_battery_charge_joules_total",
	"gridmesh_energy_battery_discharge_joules_total", "gridmesh_energy_pv_production_joules_total",
	"gridmesh_energy_load_served_joules_total", "gridmesh_energy_load_shed_joules_total",
	"go_goroutines", "process_cpu_seconds_total",
}

// A live home's /metrics passes promtool's lint (names, units, _total
// on counters, help on every family) and carries the home's figures,
// go-libp2p's among them.
func TestMetricsEndpointPassesPromtool(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	tool := promtool(t)
	homes := startNeighborhood(t, nil, 2, 2, func(_ int, c *node.Config) { c.HTTPAddr = "127.0.0.1:0" })
	for _, h := range homes {
		h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 500})
	}
	h := homes[0]
	waitFor(t, "a plan followed and a leader heard from", 20*time.Second, func() bool {
		_, contact := value(t, h.n.Metrics(), "gridmesh_raft_last_contact_seconds")
		following, _ := value(t, h.n.Metrics(), "gridmesh_plan_following")
		return following == 1 && contact
	})
	body := scrape(t, h.n)

	// The home's own families pass the lint clean.
	if out, err := checkMetrics(tool, gridmeshOnly(body)); err != nil {
		t.Errorf("promtool check metrics on the gridmesh_* families: %v\n%s", err, out)
	}
	// The whole page parses; the lint's only complaints are about
	// go-libp2p's own names, which are upstream's to change.
	out, err := checkMetrics(tool, body)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == promtoolLintFailed) {
		t.Fatalf("promtool check metrics on the whole page: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.HasPrefix(line, "libp2p_") {
			t.Errorf("promtool: %s", line)
		}
	}
	t.Logf("promtool on go-libp2p's families:\n%s", out)
	text := string(body)
	for _, f := range wantFamilies {
		if !strings.Contains(text, "\n# TYPE "+f+" ") {
			t.Errorf("no family %s", f)
		}
	}
	if !strings.Contains(text, "\n# TYPE libp2p_") {
		t.Error("no go-libp2p metrics")
	}
	if !strings.Contains(text, `gridmesh_home_info{home="h0",neighborhood="nb",peer_id="`+h.n.PeerID().String()+`"} 1`) {
		t.Error("gridmesh_home_info does not name the home")
	}
	if v, _ := value(t, h.n.Metrics(), "gridmesh_loop_ticks_total"); v == 0 {
		t.Error("no loop ticks counted")
	}
}

// Two homes in one process, each with its own registry, serve their own
// figures: no registry collides, go-libp2p's metrics included, and the
// leader is 1 on exactly one of them.
func TestMetricsOfTwoHomesInOneProcess(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	homes := startNeighborhood(t, nil, 2, 2, func(_ int, c *node.Config) { c.HTTPAddr = "127.0.0.1:0" })
	for _, h := range homes {
		h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 500})
	}
	waitFor(t, "one leader among the two", 20*time.Second, func() bool {
		a, _ := value(t, homes[0].n.Metrics(), "gridmesh_leader")
		b, _ := value(t, homes[1].n.Metrics(), "gridmesh_leader")
		return a+b == 1
	})
	for i, h := range homes {
		body := string(scrape(t, h.n))
		want := `gridmesh_home_info{home="` + string(h.n.Home()) + `"`
		if !strings.Contains(body, want) {
			t.Errorf("home %d: no %s", i, want)
		}
		other := `gridmesh_home_info{home="` + string(homes[1-i].n.Home()) + `"`
		if strings.Contains(body, other) {
			t.Errorf("home %d serves the other home's figures", i)
		}
		if !strings.Contains(body, "\n# TYPE libp2p_") {
			t.Errorf("home %d: no go-libp2p metrics", i)
		}
		if peers, _ := value(t, h.n.Metrics(), "gridmesh_peers_connected"); peers < 1 {
			t.Errorf("home %d: %v peers connected, want the other home", i, peers)
		}
	}
}

// energyHome runs one home on the in-memory network mn with dataDir,
// for a test inside a synctest bubble.
func energyHome(t *testing.T, mn *meshtest.MemNetwork, key crypto.PrivKey, dataDir string, clock func() time.Time) *testHome {
	t.Helper()
	id, _ := peer.IDFromPrivateKey(key)
	cfg := fastConfig()
	cfg.Home, cfg.Neighborhood = "h0", "nb"
	cfg.Raft.Servers = []consensus.Server{{ID: id.String(), Voter: true}}
	cfg.DataDir = dataDir
	dev := simHome(t, 1, 0.6, clock)
	nd, err := node.New(cfg, node.Deps{Key: key, Battery: dev, Meter: dev, Mesh: onMemory(mn), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return runReady(t, nd, dev)
}

// stopHome stops h and waits for Run to return.
func stopHome(t *testing.T, h *testHome) {
	t.Helper()
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatalf("home %s: %v", h.n.Home(), err)
	}
}

var energyFamilies = []string{
	"gridmesh_energy_grid_import_joules_total", "gridmesh_energy_grid_export_joules_total",
	"gridmesh_energy_battery_charge_joules_total", "gridmesh_energy_battery_discharge_joules_total",
}

func energyTotals(t *testing.T, n *node.Node) []float64 {
	t.Helper()
	out := make([]float64, len(energyFamilies))
	for i, f := range energyFamilies {
		v, ok := value(t, n.Metrics(), f)
		if !ok {
			t.Fatalf("no %s", f)
		}
		out[i] = v
	}
	return out
}

// A home stopped and started again on its data directory continues its
// energy counters where they stood when it stopped, and counts on.
func TestEnergyCountersContinueAcrossRestart(t *testing.T) {
	inBubble(t, testEnergyCountersContinueAcrossRestart)
}

func testEnergyCountersContinueAcrossRestart(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir, mn, clock := t.TempDir(), meshtest.NewMemNetwork(), testClock()
	first := energyHome(t, mn, key, dir, clock)
	time.Sleep(20 * time.Second) // virtual: 20 s of a winter evening
	stopHome(t, first)
	before := energyTotals(t, first.n)
	if before[0]+before[1] == 0 || before[2]+before[3] == 0 {
		t.Fatalf("no grid or battery energy counted in 20 s: %v", before)
	}

	second := energyHome(t, mn, key, dir, clock)
	defer stopHome(t, second)
	resumed := energyTotals(t, second.n)
	for i, f := range energyFamilies {
		if resumed[i] < before[i] {
			t.Errorf("%s restarted at %v, below the %v it stood at", f, resumed[i], before[i])
		}
	}
	time.Sleep(10 * time.Second)
	after := energyTotals(t, second.n)
	if after[0]+after[1] <= resumed[0]+resumed[1] {
		t.Errorf("grid energy did not grow after the restart: %v then %v", resumed, after)
	}
	if v, _ := value(t, second.n.Metrics(), "gridmesh_energy_state_resets_total"); v != 0 {
		t.Errorf("%v resets of a good totals file", v)
	}
	t.Logf("grid import, export, battery charge, discharge (J): %v at the stop, %v 10 s after the restart", before, after)
}

// A corrupt totals file is a counted reset: the home runs, counts from
// zero, and sets the file aside.
func TestEnergyCorruptFileIsACountedReset(t *testing.T) {
	inBubble(t, testEnergyCorruptFileIsACountedReset)
}

func testEnergyCorruptFileIsACountedReset(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "energy.json"), []byte(`{"version":1,"grid_import_joules":-5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := energyHome(t, meshtest.NewMemNetwork(), key, dir, testClock())
	time.Sleep(time.Second)
	if v, _ := value(t, h.n.Metrics(), "gridmesh_energy_state_resets_total"); v != 1 {
		t.Errorf("resets = %v, want 1", v)
	}
	if v, _ := value(t, h.n.Metrics(), "gridmesh_energy_grid_import_joules_total"); v < 0 {
		t.Errorf("grid import %v: the corrupt total was taken", v)
	}
	if _, err := os.Stat(filepath.Join(dir, "energy.json.corrupt")); err != nil {
		t.Errorf("corrupt file not set aside: %v", err)
	}
	stopHome(t, h)
	if _, err := os.Stat(filepath.Join(dir, "energy.json")); err != nil {
		t.Errorf("no totals written at the stop: %v", err)
	}
}
