package devices_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gridmesh/gridmesh/devices"
)

type releaser struct {
	n   *int
	err error
}

func (r releaser) Release(context.Context) error { *r.n++; return r.err }

func TestReleaseReleasesEveryReleaser(t *testing.T) {
	var a, b int
	boom := errors.New("boom")
	err := devices.Release(t.Context(), releaser{&a, nil}, nil, "not a device", releaser{&b, boom})
	if a != 1 || b != 1 || !errors.Is(err, boom) {
		t.Errorf("released %d and %d times, err %v; want each once and boom", a, b, err)
	}
	if err := devices.Release(t.Context()); err != nil {
		t.Errorf("nothing to release: %v", err)
	}
}
