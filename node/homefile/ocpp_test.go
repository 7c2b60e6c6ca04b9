package homefile_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/ocpp"
	"github.com/gridmesh/gridmesh/devices/ocpp/ocppsim"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// The OCPP example home builds a charger driver on its listen address
// with the block's settings, whose runner a charge point reaches.
func TestOCPPExampleHome(t *testing.T) {
	f := parseExample(t, "home-ocpp.yaml")
	o := f.Devices[1].OCPP
	if o == nil || o.ChargePointID != "wallbox-1" || o.Phases != 3 || o.MinCurrent != 6 || o.MaxCurrent != 16 ||
		*o.SessionEnergy != 30_000 || time.Duration(*o.AnswerTimeout) != 800*time.Millisecond {
		t.Fatalf("ocpp block %+v", o)
	}
	o.Listen = "127.0.0.1:0"
	f.DataDir = t.TempDir()
	// The example is admitted by certificate; what is tested here is its
	// charger, so the home runs open instead of minting keys.
	f.Admission = &homefile.Admission{Open: true}
	h, err := homefile.Build(context.Background(), f, "self", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	drv, ok := h.Charger.(*ocpp.Charger)
	if !ok || len(h.Runners) != 1 {
		t.Fatalf("charger %T, %d runners: want the OCPP driver and its runner", h.Charger, len(h.Runners))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Runners[0](ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("runner: %v", err)
		}
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	}()
	home := devicetest.NewHome(t)
	sc := ocppsim.Config{ID: "wallbox-1", Connector: 1, Phases: 3, VoltageV: 230, RateUnits: "Current", Period: 20 * time.Millisecond}
	cp, err := ocppsim.Start(ctx, fmt.Sprintf("ws://%s/ocpp", drv.Addr()), sc, home.Devices().Charger)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := h.Charger.Charger()
		if err == nil && s.Connected && s.MinW == 4140 && s.MaxW == 11040 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("charger read %+v, %v: want a car at a 4140-11040 W charger", s, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOCPPBlockChecked(t *testing.T) {
	b := string(mustRead(t, "../../examples/home-ocpp.yaml"))
	for name, c := range map[string]struct{ from, to, want string }{
		"no id":         {"charge_point_id: wallbox-1", "charge_point_id: \"\"", "charge_point_id are required"},
		"two phases":    {"phases: 3", "phases: 2", "Phases 2"},
		"currents":      {"min_current: 6", "min_current: 20", "current range"},
		"not a charger": {"kinds: [charger]", "kinds: [loads]", "ocpp: serves a charger"},
	} {
		t.Run(name, func(t *testing.T) {
			src := strings.Replace(b, c.from, c.to, 1)
			if src == b {
				t.Fatal("test case does not change the file")
			}
			_, err := homefile.Parse([]byte(src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
