package homefile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// With no servers the neighborhood organizes itself: three founders by
// default, as many as bootstrap_expect says; a static list excludes it.
func TestRaftFormation(t *testing.T) {
	build := func(extra string) (*homefile.Home, error) {
		f, err := homefile.Parse([]byte(good + extra))
		if err != nil {
			return nil, err
		}
		return homefile.Build(context.Background(), f, "12D3KooWself", nil)
	}
	h, err := build("")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Config.Raft.Servers) != 0 || h.Config.Formation.Expect != 3 {
		t.Fatalf("default: servers %v, expect %d; want self-organizing with 3 founders", h.Config.Raft.Servers, h.Config.Formation.Expect)
	}
	if h, err = build("raft: {bootstrap_expect: 1}\n"); err != nil || h.Config.Formation.Expect != 1 {
		t.Fatalf("bootstrap_expect 1: %v, %+v", err, h)
	}
	for name, extra := range map[string]string{
		"zero":        "raft: {bootstrap_expect: 0}\n",
		"both":        "raft: {bootstrap_expect: 3, servers: [{id: 12D3KooWself, voter: true}]}\n",
		"not listed":  "raft: {servers: [{id: 12D3KooWother, voter: true}]}\n",
		"misspelling": "raft: {bootstrap_expected: 3}\n",
	} {
		if _, err := build(extra); err == nil || !strings.Contains(err.Error(), "raft") && !strings.Contains(err.Error(), "bootstrap") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
