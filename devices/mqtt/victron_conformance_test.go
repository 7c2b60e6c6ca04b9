package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/internal/session"
	"github.com/gridmesh/gridmesh/devices/mqtt/mosquittotest"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// gxPublishEvery is how often the simulated GX device publishes the
// figures that change (battery and grid power): fast, so the suite's
// checks see a change within its deadline.
const gxPublishEvery = 100 * time.Millisecond

// victronGX simulates a Victron GX device as its MQTT interface behaves
// (dbus-flashmq): nothing is published until a keepalive arrives on
// R/<id>/keepalive; then changing figures are published as
// {"value": x} on N/<id>/..., and every figure (the SoC too) again on
// each keepalive; a write of {"value": W} on the ESS grid setpoint makes
// the battery deliver what holds the grid at W.
type victronGX struct {
	id         string
	home       *sim.Home
	keepalives atomic.Uint64
	writes     atomic.Uint64
}

// serve runs one connection of the simulated device.
func (g *victronGX) serve(ctx context.Context, c *session.Conn) error {
	kick := make(chan struct{}, 1) // a keepalive arrived; one pending is enough
	if err := c.Subscribe(ctx, "R/"+g.id+"/keepalive", 1, func([]byte) {
		g.keepalives.Add(1)
		select {
		case kick <- struct{}{}:
		default:
		}
	}); err != nil {
		return err
	}
	if err := c.Subscribe(ctx, "W/"+g.id+"/settings/0/Settings/CGwacs/AcPowerSetPoint", 1, g.write); err != nil {
		return err
	}
	t := time.NewTicker(gxPublishEvery)
	defer t.Stop()
	alive := false
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-kick:
			alive = true
			if err := g.publish(ctx, c, true); err != nil {
				return err
			}
		case <-t.C:
			if !alive {
				continue
			}
			if err := g.publish(ctx, c, false); err != nil {
				return err
			}
		}
	}
}

// write applies an ESS grid setpoint: the battery takes what the rest
// of the home leaves to reach it.
func (g *victronGX) write(p []byte) {
	var w struct{ Value float64 }
	if err := json.Unmarshal(p, &w); err != nil {
		return
	}
	g.writes.Add(1)
	s := g.home.Snapshot()
	_ = g.home.Devices().Battery.SetBatteryPower(gridmesh.W(w.Value) - (s.NetW - s.BatteryW))
}

// publish sends the battery and grid power, and with all the SoC too.
func (g *victronGX) publish(ctx context.Context, c *session.Conn, all bool) error {
	s := g.home.Snapshot()
	f, _ := g.home.Devices().Battery.Battery()
	n := "N/" + g.id + "/system/0/"
	msgs := map[string]float64{n + "Dc/Battery/Power": float64(s.BatteryW), n + "Ac/Grid/L1/Power": float64(s.NetW)}
	if all {
		msgs[n+"Dc/Battery/Soc"] = f.SoC * 100
	}
	for topic, v := range msgs {
		if err := c.Publish(ctx, topic, 1, []byte(`{"value": `+strconv.FormatFloat(v, 'f', -1, 64)+`}`)); err != nil {
			return err
		}
	}
	return nil
}

// TestConformanceVictron runs the battery conformance suite against the
// victron preset: driver ⇄ mosquitto ⇄ a simulated GX device publishing
// in Venus OS's format ⇄ a sim.Home's battery.
func TestConformanceVictron(t *testing.T) {
	addr := mosquittotest.New(t).Addr()
	var seq atomic.Uint64
	devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
		p := devicetest.HomeParams()
		// Victron reports no energy to full or empty: with a lossless
		// battery and no reserve, the driver's SoC shares are the truth.
		p.Battery.RoundTripEfficiency, p.Battery.ReserveSoC = 1, 0
		at := devicetest.Instant()
		home, err := sim.NewFullHome(p, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		gx := &victronGX{id: fmt.Sprintf("c0619ab%05d", seq.Add(1)), home: home}
		d := victronDriver(t, addr, gx.id, p.Battery)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- session.Run(ctx, session.Config{Broker: addr, ClientID: "gx-" + gx.id,
				ReconnectMin: reconnectMin, ReconnectMax: reconnectMax}, testLogger(t), gx.serve)
		}()
		t.Cleanup(func() { cancel(); <-done })
		start(t, d)
		b, _ := d.AsBattery()
		eventually(t, "first state through the keepalive", func() error {
			_, err := b.Battery()
			return err
		})
		if gx.keepalives.Load() == 0 {
			t.Fatal("a state arrived without a keepalive")
		}
		return devicetest.Harness[devicetest.BatteryDriver]{Driver: b, Home: home}
	})
}

// victronDriver is the driver of the GX device id, laid out by the
// victron preset, with the battery's limits as constants.
func victronDriver(t *testing.T, addr, id string, bp *sim.BatteryParams) *mqtt.Device {
	t.Helper()
	c := mqtt.DefaultConfig(mqtt.KindBattery)
	if err := mqtt.ApplyPreset(&c, "victron", mqtt.PresetParams{ID: id}); err != nil {
		t.Fatal(err)
	}
	c.Broker, c.Device = addr, "victron-"+id
	c.ReconnectMin, c.ReconnectMax = reconnectMin, reconnectMax
	c.Fields["min"] = "const:" + strconv.FormatFloat(-float64(bp.MaxDischargeW), 'f', -1, 64)
	c.Fields["max"] = "const:" + strconv.FormatFloat(float64(bp.MaxChargeW), 'f', -1, 64)
	c.Fields["capacity"] = "const:" + strconv.FormatFloat(float64(bp.CapacityWh), 'f', -1, 64)
	return newDevice(t, c)
}
