package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unitExecPath is the binary path deploy/systemd/gridmesh.service runs.
const unitExecPath = "/usr/local/bin/gridmesh"

// TestSystemdUnitVerifies runs `systemd-analyze verify` on the shipped
// unit, alone and with the serial-port drop-in merged in, its ExecStart
// pointed at this test's own binary (verify checks that the program
// exists and is executable). systemd-analyze exits 0 on an unknown or
// malformed directive and only prints it, so any output fails the test
// too.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze (Debian's systemd package) is needed: %v", err)
	}
	unit := readDeployFile(t, "systemd/gridmesh.service")
	dropIn := readDeployFile(t, "systemd/gridmesh.service.d/serial.conf.example")
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(unit, "ExecStart="+unitExecPath+" ") {
		t.Fatalf("the unit does not run %s", unitExecPath)
	}
	unit = strings.ReplaceAll(unit, unitExecPath, bin)
	for name, text := range map[string]string{
		"unit":                     unit,
		"unit with serial drop-in": unit + "\n" + dropIn,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "gridmesh.service")
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			cmd := exec.Command(analyze, "verify", path)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil || out.Len() > 0 {
				t.Fatalf("systemd-analyze verify: %v\n%s", err, out.String())
			}
		})
	}
}

// readDeployFile reads a file under the repository's deploy/.
func readDeployFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
