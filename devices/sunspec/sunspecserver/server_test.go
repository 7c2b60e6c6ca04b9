package sunspecserver_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
)

// start serves a sim home frozen at midnight with an idle fallback on a
// free port until the test ends, and returns a raw Modbus client to it.
func start(t *testing.T) (*sunspecserver.SimHome, *modbus.ModbusClient) {
	t.Helper()
	home, srv := startServer(t)
	return home, client(t, srv.Addr(), 1)
}

func startServer(t *testing.T) (*sunspecserver.SimHome, *sunspecserver.Server) {
	t.Helper()
	p := sunspecserver.DefaultSimHome()
	home, err := sunspecserver.NewSimHome(p, func() time.Time { return time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	cfg := sunspecserver.SimConfig(p)
	cfg.Fallback = sunspecserver.FallbackIdle
	srv, err := sunspecserver.New(cfg, home.Devices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return home, srv
}

func client(t *testing.T, addr string, unit uint8) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: 2 * time.Second, Logger: slog.NewLogLogger(slog.DiscardHandler, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetUnitId(unit)
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The default chain from 40000: SunS, 1 (L 66) at 40002, 120 (26) at
// 40070, 103 (50) at 40098, 123 (24) at 40150, 124 (24) at 40176, 802
// (62) at 40202, 203 (105) at 40266, end at 40373.
const (
	at124 = 40176
	end   = 40373
)

func TestRegisterMap(t *testing.T) {
	_, c := start(t)
	regs, err := c.ReadRegisters(40000, 4, modbus.HOLDING_REGISTER)
	if err != nil || regs[0] != 0x5375 || regs[1] != 0x6e53 || regs[2] != 1 || regs[3] != 66 {
		t.Fatalf("header %04x, %v", regs, err)
	}
	for _, h := range [][3]uint16{{40070, 120, 26}, {40098, 103, 50}, {40150, 123, 24}, {at124, 124, 24}, {40202, 802, 62}, {40266, 203, 105}, {end, 0xFFFF, 0}} {
		regs, err := c.ReadRegisters(h[0], 2, modbus.HOLDING_REGISTER)
		if err != nil || regs[0] != h[1] || regs[1] != h[2] {
			t.Errorf("at %d: %v, %v; want model %d of length %d", h[0], regs, err, h[1], h[2])
		}
	}
	if _, err := c.ReadRegisters(end+1, 2, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("read past the end: %v", err)
	}
	if _, err := c.ReadRegisters(39999, 1, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("read before the base: %v", err)
	}
}

func TestWritesAreCheckedWhole(t *testing.T) {
	home, c := start(t)
	tests := map[string]struct {
		addr uint16
		regs []uint16
		want error
	}{
		"read-only WChaMax":      {at124 + 2, []uint16{1000}, modbus.ErrIllegalDataAddress},
		"read-only MinRsvPct":    {at124 + 7, []uint16{100}, modbus.ErrIllegalDataAddress},
		"rate of 200 %":          {at124 + 12, []uint16{0, 20000}, modbus.ErrIllegalDataValue},
		"StorCtl_Mod 4":          {at124 + 5, []uint16{4}, modbus.ErrIllegalDataValue},
		"rates then read-only":   {at124 + 13, []uint16{5000, 0, 60, 0, 1, 0}, modbus.ErrIllegalDataAddress},
		"the marker":             {40000, []uint16{0}, modbus.ErrIllegalDataAddress},
		"a model header":         {at124, []uint16{124}, modbus.ErrIllegalDataAddress},
		"common model's strings": {40004, []uint16{0x4142}, modbus.ErrIllegalDataAddress},
	}
	for name, tc := range tests {
		if err := c.WriteRegisters(tc.addr, tc.regs); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	regs, err := c.ReadRegisters(at124+5, 1, modbus.HOLDING_REGISTER)
	if err != nil || regs[0] != 0 || home.Home().Snapshot().BatteryW != 0 {
		t.Errorf("a refused write changed something: mode %v (%v), battery %v", regs, err, home.Home().Snapshot().BatteryW)
	}
	// A raw setpoint the way the driver writes it: 30 % charge.
	if err := c.WriteRegisters(at124+12, []uint16{uint16(0x10000 - 3000), 3000}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteRegister(at124+5, 3); err != nil {
		t.Fatal(err)
	}
	if w := home.Home().Snapshot().BatteryW; w != 1500 {
		t.Errorf("battery at %v, want 1500 W", w)
	}
}

func TestOtherUnitsAndFunctionsRefused(t *testing.T) {
	_, srv := startServer(t)
	if _, err := client(t, srv.Addr(), 2).ReadRegisters(40000, 2, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrGWTargetFailedToRespond) {
		t.Errorf("unit 2: %v", err)
	}
	c := client(t, srv.Addr(), 1)
	if _, err := c.ReadCoils(0, 1); !errors.Is(err, modbus.ErrIllegalFunction) {
		t.Errorf("coils: %v", err)
	}
	if _, err := c.ReadRegisters(40000, 2, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrIllegalFunction) {
		t.Errorf("input registers: %v", err)
	}
}

func TestNewRefusesBadConfigs(t *testing.T) {
	p := sunspecserver.DefaultSimHome()
	home, err := sunspecserver.NewSimHome(p, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*sunspecserver.Config, *sunspecserver.Devices){
		"base 30000":          func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.Base = 30000 },
		"unknown model":       func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.Models = []uint16{1, 161} },
		"model twice":         func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.Models = []uint16{1, 124, 124} },
		"124 with no battery": func(c *sunspecserver.Config, d *sunspecserver.Devices) { c.Models, d.Battery = []uint16{1, 124}, nil },
		"no battery rating":   func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.BatteryMaxChargeW = 0 },
		"unknown fallback":    func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.Fallback = 7 },
		"reserve over 1":      func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.BatteryReserveSoC = 10 },
		"negative reserve":    func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.BatteryReserveSoC = -0.1 },
		"NaN reserve":         func(c *sunspecserver.Config, _ *sunspecserver.Devices) { c.BatteryReserveSoC = math.NaN() },
	}
	for name, mod := range tests {
		cfg, dev := sunspecserver.SimConfig(p), home.Devices()
		mod(&cfg, &dev)
		if _, err := sunspecserver.New(cfg, dev, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestServeSim(t *testing.T) {
	logs := &addrCatcher{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sunspecserver.ServeSim(ctx, "127.0.0.1:0", slog.New(logs)) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("ServeSim: %v", err)
		}
	}()
	var addr string
	deadline := time.Now().Add(5 * time.Second)
	for addr = logs.get(); addr == ""; addr = logs.get() {
		if time.Now().After(deadline) {
			t.Fatal("ServeSim logged no address")
		}
		time.Sleep(10 * time.Millisecond)
	}
	regs, err := client(t, addr, 1).ReadRegisters(40000, 4, modbus.HOLDING_REGISTER)
	if err != nil || regs[0] != 0x5375 || regs[1] != 0x6e53 {
		t.Fatalf("SunS: %04x, %v", regs, err)
	}
}

// addrCatcher is a slog handler that keeps the address a server logs.
type addrCatcher struct {
	mu   sync.Mutex
	addr string
}

func (h *addrCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (h *addrCatcher) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *addrCatcher) WithGroup(string) slog.Handler            { return h }
func (h *addrCatcher) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}
func (h *addrCatcher) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "addr" && r.Message == "sunspec server listening" {
			h.mu.Lock()
			h.addr = a.Value.String()
			h.mu.Unlock()
		}
		return true
	})
	return nil
}
