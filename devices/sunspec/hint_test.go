package sunspec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/simonvetter/modbus"
)

func TestDialHintNamesTheLikelyCause(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr, cfg.UnitID = "127.0.0.1:1502", 3
	for _, tc := range []struct {
		name string
		err  error
		want string // "" for no hint
	}{
		{"refused", fmt.Errorf("connect: dial tcp: %w", syscall.ECONNREFUSED), "nothing accepts Modbus TCP at 127.0.0.1:1502"},
		{"gateway: no such unit", classify(modbus.ErrGWTargetFailedToRespond), "no answer from unit ID 3 at 127.0.0.1:1502: check the device's Modbus unit ID (often 1 or 126"},
		{"silent unit", classify(modbus.ErrRequestTimedOut), "no answer from unit ID 3"},
		{"dial out of time", fmt.Errorf("no answer in time: %w", context.DeadlineExceeded), "no answer from unit ID 3"},
		{"no marker", fmt.Errorf("%w at [40000 0 50000]", ErrNotSunSpec), "shows no SunSpec map at registers [40000 0 50000]"},
		{"malformed model", ErrBadModel, ""},
		{"stopped", context.Canceled, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dialHint(cfg, tc.err)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("dialHint = %q, want %q", got, tc.want)
			}
			if err := explainDial(cfg, tc.err); !errors.Is(err, tc.err) {
				t.Errorf("explainDial lost the error: %v", err)
			}
		})
	}
}
