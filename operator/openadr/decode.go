package openadr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

// MaxBody bounds a VTN response the bridge reads (4 MiB): 50 events (the
// specification's page size) of 96 hourly intervals each fit many times
// over; a larger answer is refused rather than buffered.
const MaxBody = 4 << 20

// DecodeEvents reads a VTN's answer to GET /events: a JSON array of
// events, at most MaxBody bytes.
func DecodeEvents(r io.Reader) ([]oadr3.Event, error) {
	var evs []oadr3.Event
	if err := decodeJSON(r, &evs); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return evs, nil
}

// DecodePrograms reads a VTN's answer to GET /programs.
func DecodePrograms(r io.Reader) ([]oadr3.Program, error) {
	var ps []oadr3.Program
	if err := decodeJSON(r, &ps); err != nil {
		return nil, fmt.Errorf("programs: %w", err)
	}
	return ps, nil
}

// decodeJSON decodes one JSON value of at most MaxBody bytes into v, and
// nothing after it.
func decodeJSON(r io.Reader, v any) error {
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return err
	}
	if len(body) > MaxBody {
		return fmt.Errorf("answer over %d bytes", MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the answer")
	}
	return nil
}
