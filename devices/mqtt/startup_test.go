package mqtt_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/guard"
	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/mosquittotest"
	"github.com/gridmesh/gridmesh/devices/mqtt/mqttsim"
)

// A device that publishes once a second has said nothing for a while
// after the driver connects. Behind a guard (as in a node) it is waiting,
// not failing: the breaker stays closed through many polls, and its first
// state is handed out at the guard's next poll.
func TestGuardedDeviceWaitsForItsFirstState(t *testing.T) {
	addr := mosquittotest.New(t).Addr()
	home, _ := newHome(t)
	dc, sc := configs(addr, mqtt.KindBattery, "battery")
	sc.Period = time.Second
	d := newDevice(t, dc)
	bat, _ := d.AsBattery()
	cfg := guard.DefaultConfig()
	g, err := guard.NewBattery(bat, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	start(t, g)
	eventually(t, "the guard polled the silent device past FailuresToOpen", func() error {
		if s := g.State(); s.Waits < 2*uint64(cfg.FailuresToOpen) {
			return errors.New("not yet")
		}
		return nil
	})
	if _, err := g.Battery(); !errors.Is(err, devices.ErrWaiting) {
		t.Fatalf("reading before the first state: %v, want waiting", err)
	}
	s, err := mqttsim.NewBattery(sc, home, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	start(t, s)
	eventually(t, "the first state handed out", func() error { _, err := g.Battery(); return err })
	t.Logf("first state usable %v after the device started publishing (guard period %v)", time.Since(begin), cfg.Period)
	st := g.State()
	if st.Breaker != "closed" || st.Failures != 0 || st.Rejected != 0 || st.Waiting {
		t.Errorf("guard after the first state: %+v; want closed, no failures, nothing rejected, not waiting", st)
	}
}
