package node_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/internal/freeport"
	"github.com/gridmesh/gridmesh/node"
)

// prometheusServer returns the path of the Prometheus server. A missing
// server fails the test: CI installs it (Debian's prometheus package).
func prometheusServer(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"prometheus", "/usr/bin/prometheus"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("prometheus not found: install Debian's prometheus package (apt-get install prometheus)")
	return ""
}

// A real Prometheus server scrapes three homes of one process, each at
// its own /metrics, and answers a query over its HTTP API: exactly one
// of them leads.
func TestPrometheusScrapesHomes(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	bin := prometheusServer(t)
	homes := startNeighborhood(t, nil, 3, 3, func(_ int, c *node.Config) { c.HTTPAddr = "127.0.0.1:0" })
	var targets []string
	for _, h := range homes {
		h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 500})
		targets = append(targets, strconv.Quote(h.n.HTTPAddr()))
	}
	dir := t.TempDir()
	// Why 1 s: a scrape a second keeps the test short, while the
	// server's default (1 m) would keep it waiting; and a scrape may take
	// up to the whole second: under -race this package runs on one P
	// (internal/racesafe) beside the other tests' homes, and a home's
	// /metrics can wait hundreds of milliseconds for it. A scrape that
	// times out leaves its home's series stale, and the query below sees
	// two homes.
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gridmesh
    static_configs:
      - targets: [%s]
`, strings.Join(targets, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startPrometheus(t, bin, cfgPath, dir)

	var leaders []string
	waitFor(t, "Prometheus to have scraped all three homes, one of them leading", 60*time.Second, func() bool {
		series, err := promQuery(addr, "gridmesh_leader")
		if err != nil || len(series) != len(homes) {
			return false
		}
		leaders = leaders[:0]
		for _, s := range series {
			if s.value == "1" {
				leaders = append(leaders, s.labels["instance"])
			}
		}
		return len(leaders) == 1
	})
	t.Logf("Prometheus at %s sees one leader: %s", addr, leaders[0])
	ticks, err := promQuery(addr, `sum(gridmesh_loop_ticks_total{job="gridmesh"})`)
	if err != nil || len(ticks) != 1 || ticks[0].value == "0" {
		t.Errorf("sum of loop ticks: %+v, %v", ticks, err)
	}
}

// startPrometheus runs the Prometheus server on a loopback port with
// cfgPath, its data under dir, until the test ends, and returns its
// address once it is ready.
func startPrometheus(t *testing.T, bin, cfgPath, dir string) string {
	t.Helper()
	res, err := freeport.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(res.Release())
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	waitFor(t, "Prometheus to be ready", 30*time.Second, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return addr
}

// promSeries is one series of an instant query's answer.
type promSeries struct {
	labels map[string]string
	value  string
}

// promQuery runs an instant query over Prometheus's HTTP API.
func promQuery(addr, query string) ([]promSeries, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	if answer.Status != "success" || answer.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: %s %s (%s)", query, answer.Status, answer.Error, answer.Data.ResultType)
	}
	out := make([]promSeries, 0, len(answer.Data.Result))
	for _, r := range answer.Data.Result {
		v, _ := r.Value[1].(string)
		out = append(out, promSeries{labels: r.Metric, value: v})
	}
	return out, nil
}
