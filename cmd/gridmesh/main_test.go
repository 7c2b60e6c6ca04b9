package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"testnet", "--scenario", "meteor"},
		{"testnet", "--homes", "1", "--neighborhoods", "3"},
		{"testnet", "--log-level", "loud"},
		{"testnet", "extra"},
		{"devices"},
		{"devices", "serve-modbus"},
		{"devices", "serve-sunspec", "--log-level", "loud"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "testnet") {
		t.Errorf("help: exit %d, output %q", code, out.String())
	}
}

func TestTestnetCommandWritesReport(t *testing.T) {
	report := filepath.Join(t.TempDir(), "r.json")
	var out, errb bytes.Buffer
	args := []string{"testnet", "--homes", "3", "--neighborhoods", "1", "--duration", "10s", "--scenario", "steady", "--report", report}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "| n0 leader ") {
		t.Errorf("no per-second summary in the output:\n%s", out.String())
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Homes        int               `json:"homes"`
		Neighborhood []json.RawMessage `json:"neighborhood"`
		Errors       []string          `json:"errors"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Homes != 3 || len(rep.Neighborhood) != 1 || len(rep.Errors) != 0 {
		t.Errorf("report = %s", b)
	}
}
