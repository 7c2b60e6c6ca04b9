package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestDockerfileRunsAHomeAsShipped reads deploy/docker/Dockerfile (no
// container engine runs it here): the final stage is a static base
// running as a non-root user, the data directory is a volume, the
// libp2p and HTTP ports are exposed, and the HEALTHCHECK runs this
// binary's healthcheck subcommand against the exposed HTTP port.
func TestDockerfileRunsAHomeAsShipped(t *testing.T) {
	lines := dockerInstructions(readDeployFile(t, "docker/Dockerfile"))
	var final []string
	for _, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			final = nil
		}
		final = append(final, l)
	}
	has := func(prefix string) string {
		for _, l := range final {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Errorf("the final stage has no %q", prefix)
		return ""
	}
	if from := has("FROM "); !strings.HasPrefix(from, "FROM gcr.io/distroless/static") && from != "FROM scratch" {
		t.Errorf("final stage %q: want a static base", from)
	}
	if user := has("USER "); strings.HasPrefix(user, "USER 0") || strings.HasPrefix(user, "USER root") {
		t.Errorf("%q: want a non-root user", user)
	}
	if v := has("VOLUME "); !strings.Contains(v, `"/var/lib/gridmesh"`) {
		t.Errorf("%q: want the data directory /var/lib/gridmesh", v)
	}
	expose := strings.Fields(has("EXPOSE "))
	for _, p := range []string{"4001/tcp", "4001/udp", "8181/tcp"} {
		if !slices.Contains(expose, p) {
			t.Errorf("EXPOSE %v lacks %s", expose[1:], p)
		}
	}
	hc := has("HEALTHCHECK ")
	_, cmdJSON, ok := strings.Cut(hc, " CMD ")
	var args []string
	if !ok || json.Unmarshal([]byte(cmdJSON), &args) != nil {
		t.Fatalf("%q: want HEALTHCHECK ... CMD [exec form]", hc)
	}
	want := []string{"/usr/local/bin/gridmesh", "healthcheck", "--addr", "127.0.0.1:8181"}
	if !slices.Equal(args, want) {
		t.Errorf("HEALTHCHECK runs %q, want %q", args, want)
	}
	if entry := has("ENTRYPOINT "); !strings.Contains(entry, `"/usr/local/bin/gridmesh"`) {
		t.Errorf("%q: want the gridmesh binary", entry)
	}
}

// dockerInstructions joins continued lines and drops comments.
func dockerInstructions(text string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && cur == "") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur += s + " "
			continue
		}
		cur += l
		if cur != "" {
			out = append(out, strings.Join(strings.Fields(cur), " "))
		}
		cur = ""
	}
	return out
}
