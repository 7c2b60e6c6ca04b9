package main

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"go.yaml.in/yaml/v3"

	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// cliWrapper writes an executable that runs this test binary as the
// gridmesh command (see asGridmesh) and returns its path.
func cliWrapper(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gridmesh")
	script := "#!/bin/sh\n" + asGridmesh + "=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// composeFile is the part of deploy/compose/compose.yaml the test reads.
type composeFile struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Volumes []string `yaml:"volumes"`
	} `yaml:"services"`
}

// TestComposeCityInit runs deploy/compose/init.sh with this binary as
// gridmesh and checks the city it writes against compose.yaml and
// prometheus.yml: every home service has a home file that loads, a
// membership certificate its neighborhood's key verifies, issued to the
// identity in its data directory; its bootstrap peers are the other homes
// of its neighborhood and one of the other, by service name and peer ID;
// and Prometheus scrapes exactly the home services, at their HTTP port.
func TestComposeCityInit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command("bash", "../../deploy/compose/init.sh")
	cmd.Env = append(os.Environ(), "GRIDMESH="+cliWrapper(t), "OUT="+out, "ENV_FILE="+filepath.Join(t.TempDir(), ".env"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init.sh: %v\n%s", err, b)
	}

	var cf composeFile
	if err := yaml.Unmarshal([]byte(readDeployFile(t, "compose/compose.yaml")), &cf); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	homes := map[string]*homefile.File{}
	for name, svc := range cf.Services {
		if !slices.Equal(svc.Command, []string{"node", "--config", "/etc/gridmesh/home.yaml"}) {
			continue
		}
		want := []string{"./state/" + name + "/data:/var/lib/gridmesh", "./state/" + name + "/etc:/etc/gridmesh:ro"}
		if !slices.Equal(svc.Volumes, want) {
			t.Errorf("service %s mounts %q, want %q", name, svc.Volumes, want)
		}
		f, err := homefile.Load(filepath.Join(out, name, "etc", "home.yaml"))
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		homes[name] = f
	}
	if len(homes) != 6 {
		t.Fatalf("compose.yaml runs %d homes (%v), want 6", len(homes), slices.Sorted(maps.Keys(homes)))
	}
	peers := checkIdentities(t, out, homes)
	checkBootstrap(t, homes, peers)
	checkScrapeTargets(t, homes)
}

// checkIdentities checks each home's certificate and returns the homes'
// peer IDs, read from the identity keys in their data directories.
func checkIdentities(t *testing.T, out string, homes map[string]*homefile.File) map[string]peer.ID {
	t.Helper()
	peers := map[string]peer.ID{}
	for name, f := range homes {
		if string(f.Home) != name || f.DataDir != "/var/lib/gridmesh" || f.HTTP != "0.0.0.0:8181" || f.Admission == nil {
			t.Errorf("%s: home %q, data_dir %q, http %q, admission %v", name, f.Home, f.DataDir, f.HTTP, f.Admission)
			continue
		}
		key, err := node.LoadOrCreateKey(filepath.Join(out, name, "data"))
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		peers[name] = id
		etc := filepath.Join(out, name, "etc")
		hostPath := func(p string) string { return filepath.Join(etc, strings.TrimPrefix(p, "/etc/gridmesh/")) }
		if _, err := node.LoadAdmission(hostPath(f.Admission.NeighborhoodKey), hostPath(f.Admission.Certificate), time.Now()); err != nil {
			t.Errorf("%s: admission: %v", name, err)
		}
		m, err := node.LoadMembership(hostPath(f.Admission.Certificate))
		if err != nil {
			t.Fatal(err)
		}
		if m.Peer != id.String() || string(m.Home) != name || string(m.Neighborhood) != string(f.Neighborhood) {
			t.Errorf("%s: certificate for home %s of %s, peer %s; the home is peer %s of %s", name, m.Home, m.Neighborhood, m.Peer, id, f.Neighborhood)
		}
	}
	return peers
}

// checkBootstrap checks that each home dials the other homes of its
// neighborhood and exactly one home of the other.
func checkBootstrap(t *testing.T, homes map[string]*homefile.File, peers map[string]peer.ID) {
	t.Helper()
	for name, f := range homes {
		same, other := 0, 0
		for _, b := range f.Bootstrap {
			var target string
			for o, id := range peers {
				if b == "/dns4/"+o+"/tcp/4001/p2p/"+id.String() {
					target = o
				}
			}
			switch {
			case target == "" || target == name:
				t.Errorf("%s: bootstrap %s is none of the other homes", name, b)
			case homes[target].Neighborhood == f.Neighborhood:
				same++
			default:
				other++
			}
		}
		if same != 2 || other != 1 {
			t.Errorf("%s: bootstraps to %d homes of its neighborhood and %d of the other, want 2 and 1", name, same, other)
		}
	}
}

// checkScrapeTargets checks that prometheus.yml scrapes every home, at
// its HTTP port, under its neighborhood's label, and nothing else.
func checkScrapeTargets(t *testing.T, homes map[string]*homefile.File) {
	t.Helper()
	var pc struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string          `yaml:"targets"`
				Labels  map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(readDeployFile(t, "compose/prometheus.yml")), &pc); err != nil {
		t.Fatal(err)
	}
	got, want := map[string]string{}, map[string]string{}
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				got[tg] = st.Labels["neighborhood"]
			}
		}
	}
	for name, f := range homes {
		_, port, _ := strings.Cut(f.HTTP, ":")
		want[name+":"+port] = string(f.Neighborhood)
	}
	if !maps.Equal(got, want) {
		t.Errorf("prometheus.yml scrapes %v, want %v", got, want)
	}
}

// TestPrometheusConfigPassesPromtool runs `promtool check config` on the
// compose city's Prometheus configuration.
func TestPrometheusConfigPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool (Debian's prometheus package) is needed: %v", err)
	}
	out, err := exec.Command(promtool, "check", "config", "../../deploy/compose/prometheus.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}
