package mosquittotest

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

func TestFindNamesThePackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := searchPath
	searchPath = nil
	defer func() { searchPath = saved }()
	_, err := find()
	if err == nil || !strings.Contains(err.Error(), "apt-get install mosquitto") {
		t.Fatalf("find without mosquitto: %v", err)
	}
}

func TestStopAndRestart(t *testing.T) {
	b := New(t)
	u, err := url.Parse(b.Addr())
	if err != nil || u.Scheme != "tcp" || !strings.HasPrefix(u.Host, "127.0.0.1:") {
		t.Fatalf("Addr %q", b.Addr())
	}
	dial := func() error {
		c, err := net.Dial("tcp", u.Host)
		if err == nil {
			c.Close()
		}
		return err
	}
	Publish(t, b.Addr(), "t", []byte("x"))
	b.Stop()
	b.Stop() // idempotent
	if dial() == nil {
		t.Fatal("stopped broker accepts connections")
	}
	b.Restart()
	if err := dial(); err != nil {
		t.Fatalf("restarted broker: %v", err)
	}
	Publish(t, b.Addr(), "t", []byte("x"))
}

func TestStart(t *testing.T) {
	addr, stop := Start(t)
	Publish(t, addr, "t", []byte("x"))
	stop()
}
