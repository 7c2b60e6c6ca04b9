package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/devices/sunspec"
)

// serve-sunspec serves a home file's sim device with the models and unit
// asked for: the device a home file reproduces.
func TestServeSunSpecFromAHomeFile(t *testing.T) {
	src, err := os.ReadFile("../../examples/home-sim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := strings.Replace(string(src), "# hardware:", "hardware:", 1)
	if file == string(src) {
		t.Fatal("examples/home-sim.yaml has no hardware line to uncomment")
	}
	path := filepath.Join(t.TempDir(), "home.yaml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"devices", "serve-sunspec", "--addr", "127.0.0.1:0", "--home", path,
			"--models", "1,103,124,203", "--storage-rates", "net", "--unit-id", "126", "--log-level", "warn"}, &out, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d: %s", code, errb.String())
		}
	}()
	addrRe := regexp.MustCompile(`on (127\.0\.0\.1:\d+), unit 126`)
	var addr string
	eventuallyWithin(t, 10*time.Second, "the server's address", func() bool {
		m := addrRe.FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	cfg := sunspec.DefaultConfig()
	cfg.Addr, cfg.UnitID, cfg.StorageRates = addr, 126, sunspec.StorageRates("net")
	d, err := sunspec.Dial(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var ids []uint16
	for _, m := range d.Models() {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []uint16{1, 103, 124, 203}) {
		t.Errorf("models %v, want 1, 103, 124, 203", ids)
	}
	b, _ := d.BatteryView()
	f, err := b.Battery()
	if err != nil {
		t.Fatal(err)
	}
	if f.SoC < 0.59 || f.SoC > 0.61 {
		t.Errorf("battery state of charge %v, want the file's 60%% (the default home's is 50%%)", f.SoC)
	}
}
