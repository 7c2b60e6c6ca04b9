package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// dashboardMetric finds the gridmesh families a PromQL expression names.
var dashboardMetric = regexp.MustCompile(`\bgridmesh_[a-z0-9_]+`)

// dashboardQueries returns every PromQL expression of the compose city's
// Grafana dashboard.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(readDeployFile(t, "compose/grafana/dashboards/gridmesh.json")), &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard has uid %q and %d panels", d.UID, len(d.Panels))
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// TestDashboardQueriesWhatAHomeServes starts a home (examples/home-sim.yaml
// on loopback ports) and checks that every gridmesh family the Grafana
// dashboard queries is on the home's /metrics, with the type the query
// assumes (a _bucket of a histogram; rate and increase of counters).
func TestDashboardQueriesWhatAHomeServes(t *testing.T) {
	exprs := dashboardQueries(t)
	addr := startSimHome(t)
	want := map[string]bool{}
	for _, e := range exprs {
		for _, m := range dashboardMetric.FindAllString(e, -1) {
			want[m] = true
		}
	}
	var types map[string]string
	var missing []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		types = scrapeFamilyTypes(t, "http://"+addr+"/metrics")
		missing = missing[:0]
		for m := range want {
			if familyOf(m, types) == "" {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("the dashboard queries families no home serves: %v", missing)
	}
	for _, e := range exprs {
		for _, m := range dashboardMetric.FindAllString(e, -1) {
			typ := types[familyOf(m, types)]
			counterFn := strings.Contains(e, "rate("+m) || strings.Contains(e, "increase("+m)
			if counterFn && typ != "counter" && typ != "histogram" {
				t.Errorf("%q takes a rate of %s, a %s", e, m, typ)
			}
			if !counterFn && typ == "counter" {
				t.Errorf("%q shows counter %s without rate or increase", e, m)
			}
		}
	}
}

// familyOf is the family a series name belongs to among types ("" if
// none): itself, or the histogram whose _bucket, _sum or _count it is.
func familyOf(name string, types map[string]string) string {
	if _, ok := types[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && types[base] == "histogram" {
			return base
		}
	}
	return ""
}

// scrapeFamilyTypes GETs a Prometheus text page and returns each family
// that has samples, with its type.
func scrapeFamilyTypes(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	declared, types := map[string]string{}, map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			if name, typ, ok := strings.Cut(rest, " "); ok {
				declared[name] = typ
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(strings.SplitN(line, " ", 2)[0], "{")
		if _, ok := declared[name]; ok {
			types[name] = declared[name]
		} else if base := familyOf(name, declared); base != "" {
			types[base] = declared[base]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return types
}

// startSimHome runs examples/home-sim.yaml (loopback, ports from :0, data
// in a temporary directory) as `gridmesh node` until the test ends and
// returns its HTTP address once it is up.
func startSimHome(t *testing.T) string {
	t.Helper()
	path := simHome(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"node", "--config", path, "--log-level", "warn"}, &out, &errb) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("home exit %d\nstderr:\n%s", code, errb.String())
		}
	})
	statusLine := regexp.MustCompile(`status: http://([^/\s]+)/status`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := statusLine.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the home never came up\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGrafanaProvisioningFindsTheDashboard checks the compose city's
// Grafana wiring: the provisioned datasource is the one every panel
// names and points at the compose Prometheus service, and the dashboard
// provider reads the directory compose mounts the dashboard into.
func TestGrafanaProvisioningFindsTheDashboard(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal([]byte(readDeployFile(t, "compose/grafana/provisioning/datasources/prometheus.yaml")), &ds); err != nil {
		t.Fatal(err)
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal([]byte(readDeployFile(t, "compose/grafana/provisioning/dashboards/gridmesh.yaml")), &prov); err != nil {
		t.Fatal(err)
	}
	var cf struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(readDeployFile(t, "compose/compose.yaml")), &cf); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasources %+v: want the compose Prometheus", ds.Datasources)
	}
	if _, ok := cf.Services["prometheus"]; !ok {
		t.Fatal("compose runs no prometheus service")
	}
	var d struct {
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(readDeployFile(t, "compose/grafana/dashboards/gridmesh.json")), &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		if p.Datasource.UID != ds.Datasources[0].UID {
			t.Errorf("panel %q uses datasource %q, provisioned is %q", p.Title, p.Datasource.UID, ds.Datasources[0].UID)
		}
	}
	if len(prov.Providers) != 1 {
		t.Fatalf("%d dashboard providers, want 1", len(prov.Providers))
	}
	mount := "./grafana/dashboards:" + prov.Providers[0].Options.Path + ":ro"
	if !slices.Contains(cf.Services["grafana"].Volumes, mount) {
		t.Errorf("grafana mounts %q, the provider reads %q", cf.Services["grafana"].Volumes, prov.Providers[0].Options.Path)
	}
}
