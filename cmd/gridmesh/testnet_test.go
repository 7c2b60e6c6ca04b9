package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// An unknown transport, and the archiver on the in-memory network, are
// usage errors before a city starts.
func TestTestnetTransportUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--transport", "quic"}, "unknown transport"},
		{[]string{"--transport", "mem", "--archive", dir}, "archive with the tcp transport"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"testnet", "--report", dir + "/r.json"}, c.args...)
		if code := run(context.Background(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want a usage error saying %q", c.args, code, errb.String(), c.want)
		}
	}
}
