package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh/control"
)

// The home's energy totals (grid import and export, battery charge and
// discharge, PV production, load served and shed) are integrated from
// the loop's readings every tick (control.Energy) and kept across
// restarts in a small file under Config.DataDir.
const (
	// energyFileName is the totals' file under Config.DataDir.
	energyFileName = "energy.json"
	// energyFileVersion is the file format's version.
	energyFileVersion = 1
	// energyFileMaxBytes bounds what is read back: the file is about
	// 300 bytes; anything much larger is not ours.
	energyFileMaxBytes = 4 << 10
	// energySavePeriod is how often the totals are written while the
	// home runs (and once more when it stops). Why a minute: a crash
	// loses at most a minute of counting, a few Wh for a home, while
	// half a million small writes a year are nothing for the flash of a
	// home gateway.
	energySavePeriod = time.Minute
)

// energyRecord is the totals' file.
type energyRecord struct {
	Version int `json:"version"`
	control.EnergyJ
}

// encodeEnergy encodes totals as the file holds them.
func encodeEnergy(totals control.EnergyJ) []byte {
	b, err := json.MarshalIndent(energyRecord{Version: energyFileVersion, EnergyJ: totals}, "", "  ")
	if err != nil { // only for a value JSON cannot hold, which Valid totals are not
		panic(fmt.Sprintf("energy totals: %v", err))
	}
	return append(b, '\n')
}

// decodeEnergy decodes a totals file strictly: one JSON object of the
// current version, no unknown field, every total finite and not
// negative.
func decodeEnergy(b []byte) (control.EnergyJ, error) {
	var r energyRecord
	if err := decodeStateFile(b, energyFileMaxBytes, &r); err != nil {
		return control.EnergyJ{}, err
	}
	if r.Version != energyFileVersion {
		return control.EnergyJ{}, fmt.Errorf("version %d, want %d", r.Version, energyFileVersion)
	}
	if !r.EnergyJ.Valid() {
		return control.EnergyJ{}, fmt.Errorf("a total is negative or not finite: %+v", r.EnergyJ)
	}
	return r.EnergyJ, nil
}

// energyMeter integrates the home's energy flows and keeps their totals.
// Who owns what: prev, hasPrev and lastSnap belong to the device loop's
// goroutine (observe); totals are guarded by mu (written by observe and
// load, read by scrapes and save); saveMu serializes writes of the file;
// the counters are atomics.
type energyMeter struct {
	path string // "" keeps the totals in memory only
	log  *slog.Logger

	prev     control.PowerSample
	hasPrev  bool
	lastSnap *loopSnapshot

	mu     sync.Mutex
	totals control.EnergyJ

	saveMu sync.Mutex

	// resets counts totals files that could not be read back, after
	// which the totals started from zero.
	resets atomic.Uint64
	// gaps counts intervals left out (control.EnergyMaxGap).
	gaps atomic.Uint64
	// saveErrors counts failed writes of the totals file.
	saveErrors atomic.Uint64
}

// newEnergyMeter keeps totals in dataDir ("" for memory only). It
// touches no file: load and save do.
func newEnergyMeter(dataDir string, log *slog.Logger) *energyMeter {
	m := &energyMeter{log: log.With("part", "energy")}
	if dataDir != "" {
		m.path = filepath.Join(dataDir, energyFileName)
	}
	return m
}

// load reads the totals back. A missing file starts from zero; a file
// that cannot be read or decoded is a reset: counted, logged, set aside
// (renamed with a .corrupt suffix, for an operator to look at), and the
// totals start from zero. It never fails the home.
func (m *energyMeter) load() {
	if m.path == "" {
		return
	}
	b, err := os.ReadFile(m.path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var totals control.EnergyJ
	if err == nil {
		totals, err = decodeEnergy(b)
	}
	if err != nil {
		m.resets.Add(1)
		aside := m.path + ".corrupt"
		if rerr := os.Rename(m.path, aside); rerr != nil {
			aside = ""
		}
		m.log.Warn("energy totals unreadable: counting from zero", "file", m.path, "set_aside", aside, "err", err)
		return
	}
	m.mu.Lock()
	m.totals = totals
	m.mu.Unlock()
}

// observe integrates the loop's newest snapshot, taken at device time
// at. A snapshot already seen (the tick was skipped) adds nothing.
// Called from the device loop's goroutine only.
func (m *energyMeter) observe(snap *loopSnapshot, at time.Time) {
	if snap == nil || snap == m.lastSnap {
		return
	}
	m.lastSnap = snap
	cur := powerSample(snap, at)
	if m.hasPrev {
		d, ok := control.Energy(m.prev, cur, control.EnergyMaxGap)
		if ok {
			m.mu.Lock()
			m.totals = m.totals.Add(d)
			m.mu.Unlock()
		} else {
			m.gaps.Add(1)
		}
	}
	m.prev, m.hasPrev = cur, true
}

// powerSample is what the energy accounting takes of a snapshot.
func powerSample(snap *loopSnapshot, at time.Time) control.PowerSample {
	s := control.PowerSample{At: at, Wall: snap.At}
	if snap.MeterOK {
		s.GridW, s.HasGrid = snap.Reading.NetW, true
	}
	if snap.BatteryOK {
		s.BatteryW, s.HasBattery = snap.Reading.Battery.PowerW, true
	}
	if snap.PV != nil {
		s.PVW, s.HasPV = snap.PV.PowerW, true
	}
	if snap.Loads != nil {
		s.ServedW, s.ShedW = control.LoadSample(*snap.Loads)
		s.HasLoads = true
	}
	return s
}

// Totals returns the energy totals now.
func (m *energyMeter) Totals() control.EnergyJ {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.totals
}

// save writes the totals to their file atomically (a temporary file
// beside it, synced, renamed over it). A failure is counted and logged:
// the next save tries again.
func (m *energyMeter) save() {
	if m.path == "" {
		return
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	if err := writeFileAtomic(m.path, encodeEnergy(m.Totals())); err != nil {
		m.saveErrors.Add(1)
		m.log.Warn("energy totals not saved; trying again later", "err", err)
	}
}

// runSaver saves the totals every energySavePeriod until ctx ends.
func (m *energyMeter) runSaver(ctx context.Context) {
	if m.path == "" {
		return
	}
	t := time.NewTicker(energySavePeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.save()
		}
	}
}

// startEnergy loads the totals and starts saving them every
// energySavePeriod until ctx ends, under wg. The function it returns
// saves them a last time: call it once the device loop has stopped.
func (n *Node) startEnergy(ctx context.Context, wg *sync.WaitGroup) (saveLast func()) {
	n.energy.load()
	wg.Go(func() { n.energy.runSaver(ctx) })
	return n.energy.save
}

// deviceNow is the time of the home's physical world (Deps.DeviceNow).
func (n *Node) deviceNow() time.Time {
	if n.deps.DeviceNow != nil {
		return n.deps.DeviceNow()
	}
	return n.now()
}
