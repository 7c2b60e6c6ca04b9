package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A day of history with a flat night and an evening peak: the 24 h
// forecast from its end repeats the day (the load at each time is
// yesterday's) in quarter-hour steps.
func TestForecastCommandRepeatsYesterday(t *testing.T) {
	var b strings.Builder
	b.WriteString("# a test day\ntime_s,load_w,pv_w\n")
	load := func(s int) float64 {
		if h := s / 3600; h >= 17 && h < 21 {
			return 1500
		}
		return 300
	}
	for s := 0; s < 86400; s += 900 {
		fmt.Fprintf(&b, "%d,%.0f,0\n", s, load(s))
	}
	path := filepath.Join(t.TempDir(), "history.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	if code := run(context.Background(), []string{"forecast", "--history", path, "--horizon", "24h"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "time_s,load_w,pv_w" || len(lines) != 1+96 {
		t.Fatalf("header %q, %d lines; want 96 rows", lines[0], len(lines))
	}
	for _, l := range lines[1:] {
		var s, lw, pw float64
		if _, err := fmt.Sscanf(l, "%f,%f,%f", &s, &lw, &pw); err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		if want := load(int(s) % 86400); lw != want || pw != 0 {
			t.Fatalf("row %q: want load %v, PV 0", l, want)
		}
	}
	if code := run(context.Background(), []string{"forecast"}, &out, &errs); code == 0 {
		t.Error("forecast without --history succeeded")
	}
}
