package ocpp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/ocpp"
	"github.com/gridmesh/gridmesh/devices/ocpp/ocppsim"
)

const cpID = "wallbox-1"

// testConfig is a driver on a free loopback port for charge point cpID.
func testConfig() ocpp.Config {
	cfg := ocpp.DefaultConfig()
	cfg.Addr, cfg.ChargePointID = "127.0.0.1:0", cpID
	return cfg
}

// startDriver listens and runs a driver until the test ends.
func startDriver(t *testing.T, cfg ocpp.Config) *ocpp.Charger {
	t.Helper()
	c, err := ocpp.Listen(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("driver Run: %v", err)
		}
	})
	return c
}

// url is where a charge point reaches the driver.
func url(c *ocpp.Charger) string { return fmt.Sprintf("ws://%s/ocpp", c.Addr()) }

// simConfig is a three-phase 230 V charge point taking W and A, reporting
// every 20 ms (the suites run on real time).
func simConfig() ocppsim.Config {
	return ocppsim.Config{ID: cpID, Connector: 1, Phases: 3, VoltageV: 230, RateUnits: "Current,Power", Period: 20 * time.Millisecond}
}

// startSim connects a simulated charge point for car until the test ends.
func startSim(t *testing.T, c *ocpp.Charger, cfg ocppsim.Config, car devices.Charger) *ocppsim.Sim {
	t.Helper()
	return startSimAt(t, url(c), cfg, car)
}

// startSimAt connects a simulated charge point to the central system at u.
func startSimAt(t *testing.T, u string, cfg ocppsim.Config, car devices.Charger) *ocppsim.Sim {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := ocppsim.Start(ctx, u, cfg, car)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Stop() })
	return s
}

// eventually polls cond every 5 ms until it returns nil, or fails the
// test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type (
	ocppDriver      = ocpp.Charger
	ocppsimReceived = ocppsim.Received
)
