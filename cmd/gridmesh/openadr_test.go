package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestOpenADRUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"nothing":         {"openadr"},
		"no operator key": {"openadr", "--vtn", "http://127.0.0.1:1", "--client-id", "a", "--client-secret", "b", "--baseline-import-kw", "100"},
		"nothing to do": {"openadr", "--vtn", "http://127.0.0.1:1", "--client-id", "a", "--client-secret", "b",
			"--operator-key", "k", "--bootstrap", "/ip4/127.0.0.1/tcp/1", "--network", "n"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "gridmesh openadr") {
			t.Errorf("%s: exit %d, stderr %q; want a usage error", name, code, errb.String())
		}
	}
}

// The testnet's bridge flags are checked before a city starts.
func TestTestnetOpenADRUsage(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"testnet", "--openadr-vtn", "http://127.0.0.1:1", "--report", t.TempDir() + "/r.json"}
	if code := run(context.Background(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "client id and secret") {
		t.Errorf("exit %d, stderr %q; want a usage error naming the missing credentials", code, errb.String())
	}
}
