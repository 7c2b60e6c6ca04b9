package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/gridmesh/gridmesh/testnet"
)

// attackFloodCmd is the testnet's flood scenario's flooder as a process of
// its own: it reads a testnet.FlooderSpec as JSON from stdin, floods, and
// writes the testnet.FlooderResult as JSON to stdout. `gridmesh testnet`
// starts it; it is no tool for people.
func attackFloodCmd(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	spec, err := testnet.DecodeFlooderSpec(stdin)
	if err != nil {
		return usageError{fmt.Errorf("on stdin: %w", err)}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, err := testnet.RunFlooder(ctx, spec, log.With("attacker", "flooder"))
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}
