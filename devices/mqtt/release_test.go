package mqtt_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/mosquittotest"
)

// listen subscribes to topic on the broker at addr, as the device does,
// and returns what arrives there.
func listen(t *testing.T, addr, topic string) func() []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	c := paho.NewClient(paho.NewClientOptions().AddBroker(addr).SetClientID("listener-" + t.Name()))
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got = append(got, string(m.Payload()))
		mu.Unlock()
	})
	if tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// lastIs is a condition: the newest payload received is want.
func lastIs(got func() []string, want string) func() error {
	return func() error {
		g := got()
		if len(g) == 0 || g[len(g)-1] != want {
			return errors.New("received " + strings.Join(g, " | "))
		}
		return nil
	}
}

const release = `{"mode":"auto"}`

func TestReleasePublishesTheReleasePayload(t *testing.T) {
	b := mosquittotest.New(t)
	dc, _ := configs(b.Addr(), mqtt.KindBattery, "bat")
	dc.ReleasePayload = release
	got := listen(t, b.Addr(), dc.SetTopic)
	d := newDevice(t, dc)
	bat, _ := d.AsBattery()
	var _ devices.Releaser = bat
	stop := start(t, d)
	if err := bat.SetBatteryPower(1200); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the setpoint at the device", lastIs(got, `{"power_w": 1200}`))

	t.Run("while connected", func(t *testing.T) {
		if err := devices.Release(t.Context(), bat); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the release at the device", lastIs(got, release))
	})
	t.Run("after Run returned, on a connection of its own", func(t *testing.T) {
		if err := bat.SetBatteryPower(900); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the new setpoint at the device", lastIs(got, `{"power_w": 900}`))
		stop()
		if err := bat.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the release at the device", lastIs(got, release))
		if s := d.Stats(); s.Releases != 2 {
			t.Errorf("%d releases counted, want 2", s.Releases)
		}
	})
}

// A node that dies without a clean disconnect (SIGKILL, its host gone)
// cannot release its devices; the broker publishes its last will for it.
func TestWillReachesTheDeviceWhenTheConnectionDies(t *testing.T) {
	b := mosquittotest.New(t)
	p := newProxy(t, strings.TrimPrefix(b.Addr(), "tcp://"))
	dc, _ := configs("tcp://"+p.addr(), mqtt.KindBattery, "bat")
	dc.WillPayload = release
	got := listen(t, b.Addr(), dc.SetTopic)
	d := newDevice(t, dc)
	bat, _ := d.AsBattery()
	start(t, d)
	if err := bat.SetBatteryPower(1200); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the setpoint at the device", lastIs(got, `{"power_w": 1200}`))
	p.cut() // the driver's connection dies: no DISCONNECT reaches the broker
	eventually(t, "the will at the device", lastIs(got, release))
}

// A clean stop sends DISCONNECT: the broker discards the will.
func TestNoWillOnACleanStop(t *testing.T) {
	b := mosquittotest.New(t)
	dc, _ := configs(b.Addr(), mqtt.KindBattery, "bat")
	dc.WillPayload = release
	got := listen(t, b.Addr(), dc.SetTopic)
	d := newDevice(t, dc)
	bat, _ := d.AsBattery()
	stop := start(t, d)
	if err := bat.SetBatteryPower(1200); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the setpoint at the device", lastIs(got, `{"power_w": 1200}`))
	stop()
	// A marker published after the stop arrives after any will would
	// have: the broker handles the DISCONNECT (or the will) first.
	mosquittotest.Publish(t, b.Addr(), dc.SetTopic, []byte("marker"))
	eventually(t, "the marker", lastIs(got, "marker"))
	for _, m := range got() {
		if m == release {
			t.Fatalf("the will was published after a clean stop: %v", got())
		}
	}
}

// proxy forwards TCP connections to a broker; cut closes them all, as a
// killed process's sockets are closed, without an MQTT DISCONNECT.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(func() { cancel(); l.Close(); p.cut(); wg.Wait() })
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
