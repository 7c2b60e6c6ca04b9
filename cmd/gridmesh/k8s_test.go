package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.yaml.in/yaml/v3"

	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		ClusterIP                string         `yaml:"clusterIP"`
		PublishNotReadyAddresses bool           `yaml:"publishNotReadyAddresses"`
		Selector                 map[string]any `yaml:"selector"` // a Service's labels; a StatefulSet's matchLabels
		ServiceName              string         `yaml:"serviceName"`
		Replicas                 int            `yaml:"replicas"`
		PodManagementPolicy      string         `yaml:"podManagementPolicy"`
		Template                 struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
	} `yaml:"securityContext"`
	Containers []struct {
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe   probe `yaml:"livenessProbe"`
		ReadinessProbe  probe `yaml:"readinessProbe"`
		StartupProbe    probe `yaml:"startupProbe"`
		SecurityContext struct {
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name        string `yaml:"name"`
			MountPath   string `yaml:"mountPath"`
			SubPathExpr string `yaml:"subPathExpr"`
			SubPath     string `yaml:"subPath"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// readK8sObjects decodes every YAML document of the files.
func readK8sObjects(t *testing.T, paths ...string) []k8sObject {
	t.Helper()
	var objs []k8sObject
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

// TestKubernetesNeighborhoods runs deploy/k8s/init.sh with this binary
// as gridmesh and checks the manifests with what it wrote: each
// neighborhood's StatefulSet has a headless Service publishing pods
// before they are ready (bootstrap needs them), a volume per home at the
// data directory, probes on /healthz and /readyz, a non-root pod with a
// read-only root; and a home file per pod that loads, names the pod as
// its home and bootstraps from the other pods by their stable DNS names
// and the peer IDs of the identity keys the Secret gives them, with a
// certificate the neighborhood's key verifies.
func TestKubernetesNeighborhoods(t *testing.T) {
	out := filepath.Join(t.TempDir(), "generated")
	cmd := exec.Command("bash", "../../deploy/k8s/init.sh")
	cmd.Env = append(os.Environ(), "GRIDMESH="+cliWrapper(t), "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init.sh: %v\n%s", err, b)
	}
	deploy := "../../deploy/k8s/"
	objs := readK8sObjects(t, deploy+"namespace.yaml", deploy+"oak-street.yaml", deploy+"elm-street.yaml",
		filepath.Join(out, "oak-street-homes.yaml"), filepath.Join(out, "elm-street-homes.yaml"))
	byKind := map[string]map[string]k8sObject{}
	for _, o := range objs {
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]k8sObject{}
		}
		byKind[o.Kind][o.Metadata.Name] = o
	}
	if len(byKind["StatefulSet"]) != 2 {
		t.Fatalf("%d StatefulSets, want one per neighborhood (2)", len(byKind["StatefulSet"]))
	}
	for name, sts := range byKind["StatefulSet"] {
		t.Run(name, func(t *testing.T) {
			checkStatefulSet(t, sts, byKind["Service"][sts.Spec.ServiceName])
			checkHomesOf(t, sts, byKind["ConfigMap"], byKind["Secret"])
		})
	}
}

func checkStatefulSet(t *testing.T, sts, svc k8sObject) {
	t.Helper()
	spec := sts.Spec
	if svc.Kind == "" || svc.Spec.ClusterIP != "None" || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("service %q: want a headless Service publishing pods not ready yet, got %+v", spec.ServiceName, svc.Spec)
	}
	for k, v := range svc.Spec.Selector {
		if spec.Template.Metadata.Labels[k] != fmt.Sprint(v) {
			t.Errorf("service selects %s=%s, the pods are labelled %v", k, v, spec.Template.Metadata.Labels)
		}
	}
	if spec.PodManagementPolicy != "Parallel" || spec.Replicas < 3 {
		t.Errorf("podManagementPolicy %q, replicas %d: the homes found their group together, at least 3", spec.PodManagementPolicy, spec.Replicas)
	}
	pod := spec.Template.Spec
	if len(pod.Containers) != 1 || !pod.SecurityContext.RunAsNonRoot {
		t.Fatalf("want one container in a non-root pod")
	}
	c := pod.Containers[0]
	if !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("container security context: %+v", c.SecurityContext)
	}
	httpPort := 0
	for _, p := range c.Ports {
		if p.Name == "http" {
			httpPort = p.ContainerPort
		}
	}
	for what, pr := range map[string]probe{"liveness": c.LivenessProbe, "startup": c.StartupProbe, "readiness": c.ReadinessProbe} {
		want := "/healthz"
		if what == "readiness" {
			want = "/readyz"
		}
		if pr.HTTPGet.Path != want || pr.HTTPGet.Port != "http" || httpPort != 8181 {
			t.Errorf("%s probe %+v on http port %d, want %s on 8181", what, pr.HTTPGet, httpPort, want)
		}
	}
	if len(spec.VolumeClaimTemplates) != 1 || spec.VolumeClaimTemplates[0].Metadata.Name != "data" {
		t.Errorf("want one volume claim template, data")
	}
	mounted := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounted[m.MountPath] = m.Name + ":" + m.SubPathExpr + m.SubPath
	}
	for path, want := range map[string]string{
		"/var/lib/gridmesh":                 "data:",
		"/var/lib/gridmesh/" + node.KeyFile: "homes:$(POD_NAME).key",
		"/etc/gridmesh/home.yaml":           "config:$(POD_NAME).yaml",
		"/etc/gridmesh/home.pem":            "homes:$(POD_NAME).pem",
		"/etc/gridmesh/neighborhood.pub":    "homes:neighborhood.pub",
	} {
		if mounted[path] != want {
			t.Errorf("%s mounts %q, want %q", path, mounted[path], want)
		}
	}
}

// checkHomesOf checks the generated ConfigMap and Secret the
// StatefulSet's volumes name, for each of its pods.
func checkHomesOf(t *testing.T, sts k8sObject, configMaps, secrets map[string]k8sObject) {
	t.Helper()
	var cm, sec k8sObject
	for _, v := range sts.Spec.Template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			cm = configMaps[v.ConfigMap.Name]
		case v.Secret != nil:
			sec = secrets[v.Secret.SecretName]
		}
	}
	if cm.Kind == "" || sec.Kind == "" {
		t.Fatalf("the pods' ConfigMap or Secret is not generated")
	}
	dir := t.TempDir()
	secretFile := func(key string) string {
		b, err := base64.StdEncoding.DecodeString(sec.Data[key])
		if err != nil || len(b) == 0 {
			t.Fatalf("secret key %s: %v (%d bytes)", key, err, len(b))
		}
		p := filepath.Join(dir, key)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	name := sts.Metadata.Name
	peers := map[string]string{}
	for i := range sts.Spec.Replicas {
		pod := fmt.Sprintf("%s-%d", name, i)
		b, _ := os.ReadFile(secretFile(pod + ".key"))
		key, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			t.Fatalf("%s identity: %v", pod, err)
		}
		id, _ := peer.IDFromPrivateKey(key)
		peers[pod] = id.String()
		m, err := node.LoadAdmission(secretFile("neighborhood.pub"), secretFile(pod+".pem"), time.Now())
		if err != nil || m == nil {
			t.Errorf("%s admission: %v", pod, err)
		}
		if cert, err := node.LoadMembership(filepath.Join(dir, pod+".pem")); err != nil || cert.Peer != id.String() || string(cert.Home) != pod {
			t.Errorf("%s: certificate %+v is not for peer %s", pod, cert, id)
		}
	}
	for i := range sts.Spec.Replicas {
		pod := fmt.Sprintf("%s-%d", name, i)
		f, err := homefile.Parse([]byte(cm.Data[pod+".yaml"]))
		if err != nil {
			t.Fatalf("%s home file: %v", pod, err)
		}
		if string(f.Home) != pod || string(f.Neighborhood) != sts.Metadata.Labels["gridmesh/neighborhood"] || f.HTTP != "0.0.0.0:8181" || f.DataDir != "/var/lib/gridmesh" {
			t.Errorf("%s: home %s of %s, http %s, data_dir %s", pod, f.Home, f.Neighborhood, f.HTTP, f.DataDir)
		}
		same := 0
		for _, b := range f.Bootstrap {
			for other, id := range peers {
				if other != pod && b == "/dns4/"+other+"."+sts.Spec.ServiceName+"/tcp/4001/p2p/"+id {
					same++
				}
			}
		}
		if same != int(sts.Spec.Replicas)-1 || !strings.Contains(strings.Join(f.Bootstrap, " "), "/dns4/") {
			t.Errorf("%s bootstraps from %d of the other %d pods: %v", pod, same, sts.Spec.Replicas-1, f.Bootstrap)
		}
	}
}
