// Package mosquittotest runs a real mosquitto broker for tests: on a free
// 127.0.0.1 port, with a config file in the test's temporary directory,
// killed when the test ends. A test can stop and restart the broker to
// drop every client at once.
//
// mosquitto must be installed (Debian: apt-get install mosquitto; CI's
// .ci/run does it). Without it the test fails, naming the package to
// install: a skipped broker test would pass without testing anything.
package mosquittotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// readyTimeout bounds how long a starting broker may take to accept
// connections: mosquitto is listening within milliseconds; 10 s leaves
// room for a loaded CI machine running tests in parallel.
const readyTimeout = 10 * time.Second

// pollEvery is how often a starting broker's port is tried. It is not a
// tuned wait: readiness is a condition checked until readyTimeout.
const pollEvery = 5 * time.Millisecond

// maxLog bounds the broker output kept for a failing test's log.
const maxLog = 64 << 10

// searchPath is where mosquitto is looked for besides $PATH: Debian
// installs it in /usr/sbin, which a non-root user's PATH may lack.
var searchPath = []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"}

// Broker is a running (or stopped) mosquitto. Its methods may be called
// from any goroutine of the test.
type Broker struct {
	t    testing.TB
	bin  string
	conf string
	port int

	mu   sync.Mutex // guards the fields below
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *tail         // cmd's output
}

// Start starts a broker and returns its URL (tcp://127.0.0.1:PORT) and a
// function that stops it; the broker is stopped when the test ends in any
// case.
func Start(t testing.TB) (addr string, stop func()) {
	t.Helper()
	b := New(t)
	return b.Addr(), b.Stop
}

// New starts a broker and waits until it accepts connections. It is
// stopped when the test ends.
func New(t testing.TB) *Broker {
	t.Helper()
	bin, err := find()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mosquittotest: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatalf("mosquittotest: %v", err)
	}
	b := &Broker{t: t, bin: bin, conf: conf, port: port}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("mosquitto output:\n%s", b.output())
		}
	})
	b.start()
	return b
}

// find locates the mosquitto binary.
func find() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	for _, p := range searchPath {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("mosquittotest: the mosquitto broker is not installed; install it with `apt-get install mosquitto` (Debian package mosquitto) and run the tests again")
}

// Addr returns the broker's URL, tcp://127.0.0.1:PORT. It stays the same
// across Restart.
func (b *Broker) Addr() string { return "tcp://127.0.0.1:" + strconv.Itoa(b.port) }

// Stop kills the broker (SIGKILL: clients see their connections drop, as
// when a broker crashes) and waits for it to exit. Stopping a stopped
// broker does nothing.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	b.cmd = nil
}

// Restart stops the broker if it runs and starts it again on the same
// port, without the old one's state (persistence is off): clients must
// reconnect and subscribe again.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	b.start()
}

// start runs mosquitto and waits until it accepts connections.
func (b *Broker) start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := &tail{}
	if b.out != nil {
		out.Write(b.out.Bytes())
	}
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("mosquittotest: start %s: %v", b.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	b.cmd, b.done, b.out = cmd, done, out

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			b.cmd = nil
			b.t.Fatalf("mosquittotest: mosquitto exited before accepting connections on %s:\n%s", addr, out.Bytes())
		case <-ctx.Done():
			b.t.Fatalf("mosquittotest: mosquitto not accepting connections on %s within %v: %v\n%s", addr, readyTimeout, err, out.Bytes())
		case <-time.After(pollEvery):
		}
	}
}

// output returns what the broker wrote, for a failing test's log.
func (b *Broker) output() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.out == nil {
		return nil
	}
	return b.out.Bytes()
}

// Publish connects to the broker at addr as a client of its own, publishes
// payload on topic (QoS 1, not retained), waits for the broker's PUBACK
// and disconnects. Tests use it to send a device's topic anything at all.
func Publish(t testing.TB, addr, topic string, payload []byte) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(addr).SetClientID(fmt.Sprintf("mosquittotest-%d", time.Now().UnixNano())).
		SetAutoReconnect(false).SetConnectTimeout(readyTimeout).SetWriteTimeout(readyTimeout)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(readyTimeout) || tok.Error() != nil {
		t.Fatalf("mosquittotest: connect to %s: %v", addr, tok.Error())
	}
	defer c.Disconnect(0)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(readyTimeout) || tok.Error() != nil {
		t.Fatalf("mosquittotest: publish on %q: %v", topic, tok.Error())
	}
}

// tail keeps the last maxLog bytes written to it. It is safe for
// concurrent use (exec copies stdout and stderr on separate goroutines).
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - maxLog; over > 0 {
		w.buf = w.buf[over:]
	}
	return len(p), nil
}

// Bytes returns a copy of what is kept.
func (w *tail) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf)
}
