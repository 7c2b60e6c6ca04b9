package node

import (
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// FuzzDecodeEnergy: whatever the file holds, decoding never panics, and
// what it accepts is valid and survives a round trip unchanged.
func FuzzDecodeEnergy(f *testing.F) {
	f.Add(encodeEnergy(control.EnergyJ{}))
	f.Add(encodeEnergy(control.EnergyJ{GridImport: 3.6e6, GridExport: 1, BatteryCharge: 2, BatteryDischarge: 3, PVProduction: 4, LoadServed: 5, LoadShed: 6}))
	f.Add([]byte(`{"version":1,"grid_import_joules":-1}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"extra":0}`))
	f.Add([]byte(`{"version":1} {}`))
	f.Add([]byte(`{"version":1,"pv_production_joules":1e999}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEnergy(b)
		if err != nil {
			return
		}
		if !e.Valid() {
			t.Fatalf("accepted invalid totals %+v", e)
		}
		again, err := decodeEnergy(encodeEnergy(e))
		if err != nil || again != e {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, e)
		}
	})
}

func TestDecodeEnergyRefuses(t *testing.T) {
	for name, b := range map[string]string{
		"empty":             ``,
		"not json":          `energy`,
		"wrong version":     `{"version":2,"grid_import_joules":1}`,
		"no version":        `{"grid_import_joules":1}`,
		"unknown field":     `{"version":1,"grid_import_wh":1}`,
		"negative":          `{"version":1,"load_shed_joules":-0.5}`,
		"trailing data":     `{"version":1}{"version":1}`,
		"truncated":         `{"version":1,"grid_import_joules":12`,
		"string for number": `{"version":1,"grid_import_joules":"12"}`,
	} {
		if e, err := decodeEnergy([]byte(b)); err == nil {
			t.Errorf("%s: accepted as %+v", name, e)
		}
	}
	big := make([]byte, energyFileMaxBytes+1)
	if _, err := decodeEnergy(big); err == nil {
		t.Error("an oversized file accepted")
	}
}

// The meter integrates each new snapshot once (a tick that recorded none
// adds nothing), and leaves out a gap past control.EnergyMaxGap.
func TestEnergyMeterObserve(t *testing.T) {
	m := newEnergyMeter("", slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	snap := func(at time.Time, netW gridmesh.W) *loopSnapshot {
		return &loopSnapshot{At: at, MeterOK: true, Reading: control.Reading{NetW: netW}}
	}
	s1 := snap(t0, 1000)
	m.observe(s1, t0)
	m.observe(s1, t0.Add(time.Second)) // the same snapshot: a skipped tick
	m.observe(snap(t0.Add(time.Second), 1000), t0.Add(time.Second))
	if got := m.Totals().GridImport; got != 1000 {
		t.Fatalf("grid import %v J, want 1000", got)
	}
	late := t0.Add(time.Second + control.EnergyMaxGap + time.Millisecond)
	m.observe(snap(late, 1000), late)
	if got := m.Totals().GridImport; got != 1000 || m.gaps.Load() != 1 {
		t.Errorf("after a gap: %v J and %d gaps, want 1000 J and 1", got, m.gaps.Load())
	}
	next := late.Add(100 * time.Millisecond)
	m.observe(snap(next, 1000), next)
	if got := m.Totals().GridImport; math.Abs(got-1100) > 1e-9 {
		t.Errorf("after the gap: %v J, want 1100", got)
	}
}

// Saved totals are loaded back exactly; the file is replaced whole.
func TestEnergyMeterSaveLoad(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	m := newEnergyMeter(dir, log)
	m.totals = control.EnergyJ{GridImport: 1.5, PVProduction: 7.25e9}
	m.save()
	m.totals.GridImport = 2.5
	m.save()
	again := newEnergyMeter(dir, log)
	again.load()
	if again.Totals() != m.Totals() || again.resets.Load() != 0 {
		t.Errorf("loaded %+v (%d resets), saved %+v", again.Totals(), again.resets.Load(), m.Totals())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != energyFileName {
		t.Errorf("data dir holds %v, want only %s", entries, energyFileName)
	}
	if _, err := os.Stat(filepath.Join(dir, energyFileName)); err != nil {
		t.Fatal(err)
	}
}
