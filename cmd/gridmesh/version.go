package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release this binary is: `make release` sets it with
// -ldflags "-X main.version=...". A plain `go build` leaves "dev", and
// the VCS revision Go records in the binary says which commit it is.
var version = "dev"

// versionCmd prints the binary's version, commit and platform.
func versionCmd(stdout io.Writer) error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	fmt.Fprintln(stdout, versionString(version, info, runtime.GOOS+"/"+runtime.GOARCH))
	return nil
}

// versionString is one line: "gridmesh VERSION (REVISION TIME[, modified])
// GOVERSION PLATFORM". The parenthesis is left out when the build
// recorded no VCS information (built outside a repository, or with
// -buildvcs=false).
func versionString(v string, info *debug.BuildInfo, platform string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gridmesh %s", v)
	goVersion := runtime.Version()
	if info != nil {
		goVersion = info.GoVersion
		if vcs := vcsOf(info); vcs != "" {
			fmt.Fprintf(&b, " (%s)", vcs)
		}
	}
	fmt.Fprintf(&b, " %s %s", goVersion, platform)
	return b.String()
}

// vcsOf is the revision, its time and whether the tree was modified, as
// Go recorded them at build time ("" when it recorded none).
func vcsOf(info *debug.BuildInfo) string {
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	parts := []string{rev}
	if at != "" {
		parts = append(parts, at)
	}
	s := strings.Join(parts, " ")
	if modified {
		s += ", modified"
	}
	return s
}
