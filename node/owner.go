package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh/control"
)

// The owner's settings (control.OwnerSettings: backup reserve, opt-out of
// the next demand-response event, pause of steering) as the home keeps
// them: in a file under Config.DataDir, changed through the owner API
// (ownerapi.go) or Home Assistant (node/hass), moved on by a settler
// goroutine as events and pauses end, and read by the device loop at
// every tick from an atomic pointer, so the loop never waits on a change.
const (
	// ownerFileName holds the settings under Config.DataDir.
	ownerFileName = "owner.json"
	// ownerFileVersion is the settings file's format.
	ownerFileVersion = 1
	// ownerFileMaxBytes bounds what is read back: the file is about 200
	// bytes.
	ownerFileMaxBytes = 4 << 10
	// ownerTokenFileName holds the owner API's bearer token (0600).
	ownerTokenFileName = "owner-token"
	// ownerSettlePeriod is how often the settler binds an opt-out to the
	// event the home heard of and ends opt-outs and pauses that are over.
	// Why a second: an operator announces an event ahead of its start and
	// the loop's own region waker checks boundaries four times a second;
	// a second's lag on an event of minutes or hours is within what its
	// settlement counts.
	ownerSettlePeriod = time.Second
)

// ownerRecord is the settings file.
type ownerRecord struct {
	Version  int                   `json:"version"`
	Settings control.OwnerSettings `json:"settings"`
}

// decodeOwner decodes a settings file strictly: one object of the
// current version, no unknown field, valid settings.
func decodeOwner(b []byte) (control.OwnerSettings, error) {
	var r ownerRecord
	if err := decodeStateFile(b, ownerFileMaxBytes, &r); err != nil {
		return control.OwnerSettings{}, err
	}
	if r.Version != ownerFileVersion {
		return control.OwnerSettings{}, fmt.Errorf("version %d, want %d", r.Version, ownerFileVersion)
	}
	if err := r.Settings.Validate(); err != nil {
		return control.OwnerSettings{}, err
	}
	return r.Settings, nil
}

// owner keeps the settings. cur is read by anyone (the loop at every
// tick); mu serializes the writers (API, Home Assistant, settler) around
// the file write and the store, so the file and cur agree.
type owner struct {
	log   *slog.Logger
	dir   string // "" keeps everything in memory
	cur   atomic.Pointer[control.OwnerSettings]
	mu    sync.Mutex
	token atomic.Value // string, set by open
	// releaseCh asks the release goroutine (loop.go) to hand the devices
	// back: size 1, coalescing.
	releaseCh chan struct{}
	// changes counts stored changes, for publishers that poll (node/hass).
	changes atomic.Uint64
}

func newOwner(dataDir string, log *slog.Logger) *owner {
	o := &owner{log: log.With("part", "owner"), dir: dataDir, releaseCh: make(chan struct{}, 1)}
	o.cur.Store(&control.OwnerSettings{})
	return o
}

// open reads the settings back and makes sure the API token exists. A
// settings file that cannot be read fails the home: starting from the
// defaults would silently drop the reserve its owner set.
func (o *owner) open() error {
	tok, err := o.loadOrCreateToken()
	if err != nil {
		return fmt.Errorf("owner API token: %w", err)
	}
	o.token.Store(tok)
	if o.dir == "" {
		return nil
	}
	path := filepath.Join(o.dir, ownerFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var s control.OwnerSettings
	if err == nil {
		s, err = decodeOwner(b)
	}
	if err != nil {
		return fmt.Errorf("owner settings %s: %w", path, err)
	}
	o.cur.Store(&s)
	return nil
}

// loadOrCreateToken returns the token in the data directory, writing a
// new random one (32 bytes, hex) with mode 0600 at first start. Without a
// data directory the token lives in memory (Node.OwnerToken).
func (o *owner) loadOrCreateToken() (string, error) {
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return "", err
	}
	fresh := hex.EncodeToString(tok)
	if o.dir == "" {
		return fresh, nil
	}
	path := filepath.Join(o.dir, ownerTokenFileName)
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); len(t) >= 32 {
			return t, nil
		}
		return "", fmt.Errorf("%s holds no token of at least 32 characters", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(fresh + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return fresh, nil
}

// settings returns the settings now.
func (o *owner) settings() control.OwnerSettings { return *o.cur.Load() }

// change applies c at now and stores the result, persisted first: a
// change that cannot be written is refused, the settings stay as they
// were.
func (o *owner) change(c control.OwnerChange, events []control.DemandEvent, now time.Time) (control.OwnerSettings, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, err := control.ApplyOwnerChange(o.settings(), c, now)
	if err != nil {
		return o.settings(), err
	}
	s = control.SettleOwner(s, events, now)
	if err := o.storeLocked(s); err != nil {
		return o.settings(), err
	}
	return s, nil
}

// settle moves the settings on to now (control.SettleOwner) and stores
// them if that changed anything. A failed write is logged; the settled
// settings apply anyway (an event that ended is over whatever the file
// says) and the next settle writes again.
func (o *owner) settle(events []control.DemandEvent, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cur := o.settings()
	s := control.SettleOwner(cur, events, now)
	if s == cur {
		return
	}
	if err := o.storeLocked(s); err != nil {
		o.cur.Store(&s)
		o.changes.Add(1)
		o.log.Warn("owner settings not saved; trying again", "err", err)
	}
}

// storeLocked writes s to the file, then makes it current. Called with
// mu held.
func (o *owner) storeLocked(s control.OwnerSettings) error {
	if o.dir != "" {
		b, err := json.MarshalIndent(ownerRecord{Version: ownerFileVersion, Settings: s}, "", "  ")
		if err != nil {
			return fmt.Errorf("encode owner settings: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(o.dir, ownerFileName), append(b, '\n')); err != nil {
			return err
		}
	}
	if prev := o.settings(); prev != s {
		o.log.Info("owner settings", "reserve_pct", s.ReservePct, "opt_out_next", s.OptOutNext,
			"opt_out_event", s.OptOutEvent, "paused", s.Paused, "pause_until_ms", s.PauseUntilMs)
	}
	o.cur.Store(&s)
	o.changes.Add(1)
	return nil
}

// demandEvents are the import cuts the home's region view holds now.
func (n *Node) demandEvents(now time.Time) []control.DemandEvent {
	return control.DemandEvents(n.region.snapshot(now).Signals)
}

// runOwnerSettler settles the settings every ownerSettlePeriod until ctx
// ends.
func (n *Node) runOwnerSettler(ctx context.Context) {
	t := time.NewTicker(ownerSettlePeriod)
	defer t.Stop()
	for {
		now := n.now()
		n.owner.settle(n.demandEvents(now), now)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// OwnerSettings returns the owner's settings now.
func (n *Node) OwnerSettings() control.OwnerSettings { return n.owner.settings() }

// ChangeOwnerSettings applies an owner's change, persists it and returns
// the settings now. An invalid change is refused with an error wrapping
// gridmesh.ErrInvalid.
func (n *Node) ChangeOwnerSettings(c control.OwnerChange) (control.OwnerSettings, error) {
	now := n.now()
	return n.owner.change(c, n.demandEvents(now), now)
}

// OwnerToken returns the owner API's bearer token, once Run has started
// ("" before): the content of <data dir>/owner-token, or a random token
// kept in memory for a home without a data directory.
func (n *Node) OwnerToken() string {
	t, _ := n.owner.token.Load().(string)
	return t
}

// ownerEffect is what the owner's settings make the loop do at now.
func (n *Node) ownerEffect(now time.Time) (control.OwnerSettings, control.OwnerEffect) {
	s := n.owner.settings()
	return s, control.DecideOwner(s, now)
}

// OwnerStatus is the owner's settings and what they do now, in /status.
type OwnerStatus struct {
	control.OwnerSettings
	// Steering is "steered", "paused" or "opted_out".
	Steering string `json:"steering"`
}

// ownerStatus is the owner's part of Status.
func (n *Node) ownerStatus() OwnerStatus {
	s, e := n.ownerEffect(n.now())
	st := OwnerStatus{OwnerSettings: s, Steering: e.Reason}
	if st.Steering == "" {
		st.Steering = "steered"
	}
	return st
}

// OwnerChange is control.OwnerChange, for callers of the owner API (the
// command line) that do not import control.
type OwnerChange = control.OwnerChange
