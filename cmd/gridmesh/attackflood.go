package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/gridmesh/gridmesh/testnet"
)

// maxFlooderSpec bounds the spec read from standard input: a key, a
// certificate and a neighborhood's addresses fit in far less.
const maxFlooderSpec = 1 << 20

// attackFloodCmd is the testnet's flood scenario's flooder as a process of
// its own: it reads a testnet.FlooderSpec as JSON from stdin, floods, and
// writes the testnet.FlooderResult as JSON to stdout. `gridmesh testnet`
// starts it; it is no tool for people.
func attackFloodCmd(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	var spec testnet.FlooderSpec
	dec := json.NewDecoder(io.LimitReader(stdin, maxFlooderSpec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return usageError{fmt.Errorf("flooder spec on stdin: %w", err)}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, err := testnet.RunFlooder(ctx, spec, log.With("attacker", "flooder"))
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}
