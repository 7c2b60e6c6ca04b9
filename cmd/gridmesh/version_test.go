package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		version string
		info    *debug.BuildInfo
		want    string
	}{
		{
			name:    "release build from a clean tree",
			version: "v0.3.0",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Settings: settings(
				"vcs", "git", "vcs.revision", "08e59d3f", "vcs.time", "2026-12-04T18:00:00Z", "vcs.modified", "false")},
			want: "gridmesh v0.3.0 (08e59d3f 2026-12-04T18:00:00Z) go1.26.8 linux/arm",
		},
		{
			name:    "dev build from a modified tree",
			version: "dev",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Settings: settings(
				"vcs.revision", "abc", "vcs.modified", "true")},
			want: "gridmesh dev (abc, modified) go1.26.8 linux/arm",
		},
		{
			name:    "no VCS information recorded",
			version: "dev",
			info:    &debug.BuildInfo{GoVersion: "go1.26.8", Settings: settings("CGO_ENABLED", "0")},
			want:    "gridmesh dev go1.26.8 linux/arm",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionString(tc.version, tc.info, "linux/arm"); got != tc.want {
				t.Errorf("versionString = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionCommand runs `gridmesh version` and `--version`: both print
// the version line of this binary and exit 0.
func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), []string{arg}, &out, &errOut); code != 0 {
			t.Fatalf("gridmesh %s: exit %d, stderr %q", arg, code, errOut.String())
		}
		if !strings.HasPrefix(out.String(), "gridmesh "+version+" ") {
			t.Errorf("gridmesh %s printed %q, want it to start with %q", arg, out.String(), "gridmesh "+version+" ")
		}
	}
}
