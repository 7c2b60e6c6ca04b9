package homefile_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
	"github.com/gridmesh/gridmesh/internal/freeport"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// sunspecHome is a home file with one SunSpec device of every kind at
// addr, unit.
func sunspecHome(addr string, unit int) string {
	return fmt.Sprintf(`
home: home-1
neighborhood: oak-street
data_dir: /tmp/gridmesh-home-1
admission: {open: true}
devices:
  - name: inverter
    kinds: [battery, meter, pv]
    driver: sunspec
    sunspec: {addr: %q, unit_id: %d, timeout: 500ms}
`, addr, unit)
}

// serveSunSpec serves a sim home with models at addr until the test ends.
func serveSunSpec(t *testing.T, addr string, models []uint16) *sunspecserver.Server {
	t.Helper()
	p := sunspecserver.DefaultSimHome()
	h, err := sunspecserver.NewSimHome(p, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sunspecserver.SimConfig(p)
	cfg.Models = models
	srv, err := sunspecserver.New(cfg, h.Devices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(addr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

func build(t *testing.T, file string) *homefile.Home {
	t.Helper()
	f, err := homefile.Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	h, err := homefile.Build(t.Context(), f, "12D3KooWself", nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// runRunners runs the home's drivers until the test ends.
func runRunners(t *testing.T, h *homefile.Home) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(h.Runners))
	for _, r := range h.Runners {
		go func() { r(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		cancel()
		for range h.Runners {
			<-done
		}
	})
}

// A device without a PV limit (models 1, 103, 124, 203: a hybrid that
// exposes no 123 or 704) starts the home with its battery and meter, and
// the PV it lacks is listed as missing, with the models it has.
func TestSunSpecWithFewerKindsStartsTheHome(t *testing.T) {
	srv := serveSunSpec(t, "127.0.0.1:0", []uint16{1, 103, 124, 203})
	h := build(t, sunspecHome(srv.Addr(), 1))
	if h.Battery == nil || h.Meter == nil || h.PV != nil {
		t.Fatalf("battery %v meter %v pv %v: want the battery and meter, no PV", h.Battery, h.Meter, h.PV)
	}
	if _, err := h.Battery.Battery(); err != nil {
		t.Errorf("battery: %v", err)
	}
	m := h.MissingKinds()
	if len(m) != 1 || m[0].Device != "inverter" || m[0].Kind != "pv" || !strings.Contains(m[0].Reason, "[1 103 124 203]") {
		t.Errorf("missing kinds %+v, want the inverter's pv with the models it has", m)
	}
}

// A wrong unit ID does not stop the home: its devices wait, saying
// which unit ID did not answer and what to check.
func TestSunSpecWrongUnitIDWaitsSayingWhy(t *testing.T) {
	srv := serveSunSpec(t, "127.0.0.1:0", nil)
	h := build(t, sunspecHome(srv.Addr(), 3))
	_, err := h.Battery.Battery()
	var de *gridmesh.DeviceError
	if !errors.Is(err, devices.ErrWaiting) || !errors.As(err, &de) || !de.Retryable {
		t.Fatalf("battery: %v, want a retryable wait", err)
	}
	if want := "no answer from unit ID 3 at " + srv.Addr() + ": check the device's Modbus unit ID"; !strings.Contains(err.Error(), want) {
		t.Errorf("battery: %v\nwant it to say %q", err, want)
	}
	if len(h.Runners) != 1 {
		t.Errorf("%d runners, want the one that keeps looking", len(h.Runners))
	}
}

// A device that is not up when the home starts is looked for again, and
// steered once it answers.
func TestSunSpecFoundLater(t *testing.T) {
	r, err := freeport.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port()))
	h := build(t, sunspecHome(addr, 1))
	if _, err := h.Meter.Meter(); !errors.Is(err, devices.ErrWaiting) {
		t.Fatalf("meter before the device is up: %v, want waiting", err)
	}
	r.Release()
	serveSunSpec(t, addr, nil)
	runRunners(t, h)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := h.Meter.Meter()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("meter still failing 10 s after the device came up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := h.Battery.SetBatteryPower(-500); err != nil {
		t.Errorf("set battery power once found: %v", err)
	}
	if m := h.MissingKinds(); len(m) != 0 {
		t.Errorf("missing kinds %+v, want none", m)
	}
}
