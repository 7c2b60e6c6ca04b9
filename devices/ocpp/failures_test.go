package ocpp_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/ocpp"
	"github.com/gridmesh/gridmesh/devices/ocpp/ocppsim"
)

// A charger that calls before it boots (as one does that reconnects
// without rebooting) is answered, counted, asked to boot, and reported
// only once it has.
func TestCallsBeforeBoot(t *testing.T) {
	drv := startDriver(t, testConfig())
	ev := newCar()
	ev.plug(true)
	sc := simConfig()
	sc.NoBoot = true
	startSim(t, drv, sc, ev)
	eventually(t, 5*time.Second, "reading after the triggered boot", func() error {
		s, err := drv.Charger()
		if err != nil {
			return err
		}
		if !s.Connected || s.PowerW != 11040 {
			return fmt.Errorf("read %+v, want the car at 11040 W", s)
		}
		return nil
	})
	if st := drv.Stats(); st.PreBootCalls == 0 || st.Boots != 1 {
		t.Errorf("stats %+v: want calls before the boot counted, one boot", st)
	}
}

// A charger whose network dies silently is found dead after
// SilenceTimeout (counted), read as waiting, and steered again once it
// reconnects and reports, without a boot.
func TestSilentDisconnect(t *testing.T) {
	cfg := testConfig()
	cfg.SilenceTimeout = 300 * time.Millisecond
	drv := startDriver(t, cfg)
	p := startProxy(t, drv.Addr().String())
	ev := newCar()
	ev.plug(true)
	must(t, drv.SetChargePower(6_900))
	first := startSimAt(t, "ws://"+p.addr()+"/ocpp", simConfig(), ev)
	waitPower(t, drv, 6900)

	p.blackhole()
	eventually(t, 5*time.Second, "dead connection found", func() error {
		_, err := drv.Charger()
		if !errors.Is(err, devices.ErrWaiting) || !errors.Is(err, gridmesh.ErrUnavailable) {
			return fmt.Errorf("read error %v, want waiting", err)
		}
		return nil
	})
	if st := drv.Stats(); st.Disconnects != 1 {
		t.Errorf("disconnects %d, want 1", st.Disconnects)
	}
	first.Stop()

	ev2 := newCar()
	ev2.plug(true)
	sc := simConfig()
	sc.NoBoot = true // it did not reboot
	again := startSim(t, drv, sc, ev2)
	// The profile is sent again on the new connection: the power read
	// may come from the car's first meter values before it lands.
	eventually(t, 5*time.Second, "a profile on the new connection", func() error {
		if len(again.Profiles()) == 0 {
			return errors.New("no profile yet")
		}
		return nil
	})
	waitPower(t, drv, 6900)
	if st := drv.Stats(); st.Boots != 1 || st.Connects != 2 {
		t.Errorf("stats %+v: want 1 boot, 2 connections", st)
	}
}

// A charger that does not answer a profile in AnswerTimeout costs a
// device error, returned once, which the guard counts; the profile is
// sent again after a backoff, and reaches the charger once it answers.
func TestUnansweredProfile(t *testing.T) {
	cfg := testConfig()
	cfg.AnswerTimeout, cfg.RetryMin, cfg.RetryMax = 200*time.Millisecond, 100*time.Millisecond, 400*time.Millisecond
	drv := startDriver(t, cfg)
	g := runGuard(t, drv)
	ev := newCar()
	ev.plug(true)
	cp := startSim(t, drv, simConfig(), ev)
	waitPower(t, drv, 11040)
	hold := make(chan struct{})
	cp.SetAnswer(ocppsim.Answer{Hold: hold})
	must(t, g.SetChargePower(5_000))
	eventually(t, 5*time.Second, "the guard counting the unanswered profile", func() error {
		if st := drv.Stats(); st.Unanswered == 0 {
			return fmt.Errorf("stats %+v", st)
		}
		if s := g.State(); s.Failures == 0 {
			return fmt.Errorf("guard %+v", s)
		}
		return nil
	})
	if s := g.State(); !containsAll(s.LastError, "no answer", "retryable") {
		t.Errorf("guard's last error %q: want the unanswered profile", s.LastError)
	}
	cp.SetAnswer(ocppsim.Answer{})
	close(hold)
	waitPower(t, drv, 5000)
}

// A refused profile is counted and sent again with backoff (never faster
// than RetryMin's lower jitter bound), until the charger takes it.
func TestRejectedProfile(t *testing.T) {
	cfg := testConfig()
	cfg.RetryMin, cfg.RetryMax = 100*time.Millisecond, 400*time.Millisecond
	drv := startDriver(t, cfg)
	ev := newCar()
	ev.plug(true)
	cp := startSim(t, drv, simConfig(), ev)
	waitPower(t, drv, 11040)
	cp.SetAnswer(ocppsim.Answer{Reject: true})
	must(t, drv.SetChargePower(5_000))
	eventually(t, 10*time.Second, "three refusals", func() error {
		if st := drv.Stats(); st.ProfilesRejected < 3 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
	cp.SetAnswer(ocppsim.Answer{})
	waitPower(t, drv, 5000)
	rs := cp.Profiles()
	for i := 1; i < len(rs); i++ { // every profile followed a refusal
		if gap := rs[i].At.Sub(rs[i-1].At); gap < cfg.RetryMin/2 {
			t.Errorf("profile %d came %v after the one before: want a backoff of at least %v", i, gap, cfg.RetryMin/2)
		}
	}
	if st := drv.Stats(); st.ProfilesAccepted != 1 || st.ProfilesSent != st.ProfilesRejected+1 {
		t.Errorf("stats %+v: want every profile refused but the last", st)
	}
}

// A connection from another charge point ID is refused.
func TestUnknownChargePointRefused(t *testing.T) {
	drv := startDriver(t, testConfig())
	sc := simConfig()
	sc.ID = "stranger"
	if _, err := ocppsim.Start(t.Context(), url(drv), sc, newCar()); err == nil {
		t.Fatal("a stranger's charge point connected")
	}
	if st := drv.Stats(); st.Connects != 0 {
		t.Errorf("connects %d, want 0", st.Connects)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// waitPower waits until the driver reads the car charging at w (±1 W).
func waitPower(t *testing.T, drv *ocpp.Charger, w gridmesh.W) {
	t.Helper()
	eventually(t, 5*time.Second, fmt.Sprintf("the car at %v W", w), func() error {
		s, err := drv.Charger()
		if err != nil {
			return err
		}
		if d := s.PowerW - w; !s.Connected || d > 1 || d < -1 {
			return fmt.Errorf("read %+v", s)
		}
		return nil
	})
}

// proxy forwards TCP to the driver until blackholed: then it forwards
// nothing either way and keeps the connections open, as a network that
// died without a word.
type proxy struct {
	ln   net.Listener
	dead atomic.Bool
	wg   sync.WaitGroup
}

func startProxy(t *testing.T, to string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &proxy{ln: ln}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			p.pipe(c, up)
			p.pipe(up, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) blackhole() { p.dead.Store(true) }

// pipe copies from src to dst while the proxy lives.
func (p *proxy) pipe(dst, src net.Conn) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			if p.dead.Load() {
				continue
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				_, _ = io.Copy(io.Discard, src)
				return
			}
		}
	}()
}
