package main

import (
	"bufio"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// `make release-check` sets these to check the binaries `make release`
// wrote; left empty, TestReleaseBinaries checks small programs it builds
// for the same four platforms the same way.
var (
	releaseDist    = flag.String("release.dist", "", "directory of release binaries and SHA256SUMS to check")
	releaseVersion = flag.String("release.version", "", "the version the release binaries must print")
)

// releaseTarget is one release binary: its name in dist/ and the ELF
// machine, GOARCH and GOARM it must have.
type releaseTarget struct {
	name    string
	machine elf.Machine
	goarch  string
	goarm   string
}

// releaseTargets are the Makefile's RELEASE_TARGETS.
var releaseTargets = []releaseTarget{
	{"gridmesh-linux-amd64", elf.EM_X86_64, "amd64", ""},
	{"gridmesh-linux-arm64", elf.EM_AARCH64, "arm64", ""},
	{"gridmesh-linux-armv6", elf.EM_ARM, "arm", "6"},
	{"gridmesh-linux-armv7", elf.EM_ARM, "arm", "7"},
}

// checkReleaseBinary reports what keeps the file at path from being the
// release binary t: not a Linux ELF of t's machine, dynamically linked
// (an interpreter or a dynamic section: it would need a libc the
// target may not have), or built for another GOARCH or GOARM, with CGO
// on, or without trimmed paths.
func checkReleaseBinary(path string, t releaseTarget) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	var problems []string
	if f.Machine != t.machine {
		problems = append(problems, fmt.Sprintf("machine %v, want %v", f.Machine, t.machine))
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			problems = append(problems, "has an interpreter (PT_INTERP): dynamically linked")
		case elf.PT_DYNAMIC:
			problems = append(problems, "has a dynamic segment (PT_DYNAMIC)")
		}
	}
	if f.Section(".dynamic") != nil {
		problems = append(problems, "has a .dynamic section")
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: build info: %w", path, err)
	}
	want := map[string]string{"GOOS": "linux", "GOARCH": t.goarch, "CGO_ENABLED": "0", "-trimpath": "true"}
	if t.goarm != "" {
		want["GOARM"] = t.goarm
	}
	got := map[string]string{}
	for _, s := range info.Settings {
		got[s.Key] = s.Value
	}
	for k, v := range want {
		if got[k] != v {
			problems = append(problems, fmt.Sprintf("built with %s=%q, want %q", k, got[k], v))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", path, strings.Join(problems, "; "))
	}
	return nil
}

// checkSums reports whether dir/SHA256SUMS lists exactly names, each with
// the SHA-256 of its file.
func checkSums(dir string, names []string) error {
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return err
	}
	defer f.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return fmt.Errorf("SHA256SUMS: malformed line %q", sc.Text())
		}
		listed[name] = sum
	}
	if err := sc.Err(); err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		want, ok := listed[name]
		if !ok {
			errs = append(errs, fmt.Errorf("SHA256SUMS lacks %s", name))
			continue
		}
		delete(listed, name)
		if got, err := sha256File(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
		} else if got != want {
			errs = append(errs, fmt.Errorf("SHA256SUMS: %s is %s, listed as %s", name, got, want))
		}
	}
	for name := range listed {
		errs = append(errs, fmt.Errorf("SHA256SUMS lists %s, which is not a release binary", name))
	}
	return errors.Join(errs...)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestReleaseBinaries checks release binaries: under `make
// release-check`, the four `make release` wrote (static, their
// architecture, the version stamped in, SHA256SUMS true); otherwise a
// small program built for the same four platforms as the Makefile
// builds, so the check itself is tested in every run.
func TestReleaseBinaries(t *testing.T) {
	if *releaseDist == "" {
		checkBuiltProbes(t)
		return
	}
	var names []string
	for _, rt := range releaseTargets {
		names = append(names, rt.name)
		if err := checkReleaseBinary(filepath.Join(*releaseDist, rt.name), rt); err != nil {
			t.Error(err)
		}
	}
	if err := checkSums(*releaseDist, names); err != nil {
		t.Error(err)
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		checkPrintsVersion(t, filepath.Join(*releaseDist, "gridmesh-linux-amd64"), *releaseVersion)
	}
}

// checkPrintsVersion runs bin version: it must name want.
func checkPrintsVersion(t *testing.T, bin, want string) {
	t.Helper()
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v: %s", bin, err, out)
	}
	if !strings.HasPrefix(string(out), "gridmesh "+want+" ") {
		t.Errorf("%s version printed %q, want version %q", bin, out, want)
	}
}

// probeProgram is the small program the check is tried on.
const probeProgram = `package main

import "fmt"

func main() { fmt.Println("probe") }
`

// checkBuiltProbes builds probeProgram as the Makefile builds a release
// for each target, and checks that the check passes each one, refuses it
// as any target of another architecture or ARM version, and refuses a
// dynamically linked build.
func checkBuiltProbes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(probeProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, rt := range releaseTargets {
		bin := filepath.Join(dir, rt.name)
		buildProbe(t, src, bin, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+rt.goarch, "GOARM="+rt.goarm)
		if err := checkReleaseBinary(bin, rt); err != nil {
			t.Errorf("a static %s build fails the check: %v", rt.name, err)
		}
		for _, other := range releaseTargets {
			if other != rt && checkReleaseBinary(bin, other) == nil {
				t.Errorf("the %s build passes as %s", rt.name, other.name)
			}
		}
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return
	}
	dynamic := filepath.Join(dir, "dynamic")
	cgoSrc := filepath.Join(dir, "cgo", "main.go")
	os.MkdirAll(filepath.Dir(cgoSrc), 0o755)
	os.WriteFile(cgoSrc, []byte("package main\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc main() { println(C.one()) }\n"), 0o644)
	buildProbe(t, cgoSrc, dynamic, "CGO_ENABLED=1")
	err := checkReleaseBinary(dynamic, releaseTargets[0])
	if err == nil || !strings.Contains(err.Error(), "PT_INTERP") || !strings.Contains(err.Error(), "CGO_ENABLED") {
		t.Errorf("a cgo build, dynamically linked: check says %v, want PT_INTERP and CGO_ENABLED named", err)
	}
}

// buildProbe builds src into bin with the release flags and env.
func buildProbe(t *testing.T, src, bin string, env ...string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, src)
	cmd.Dir = filepath.Dir(src)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s (%v): %v\n%s", bin, env, err, out)
	}
}
