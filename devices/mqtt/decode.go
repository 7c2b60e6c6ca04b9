package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// maxStatePayload bounds a state payload. A device's state is a few
// hundred bytes of JSON; a broken or hostile publisher cannot make the
// driver parse megabytes on every message.
const maxStatePayload = 16 << 10

// maxQuoted bounds how much of a bad value an error quotes, so errors
// and logs stay short whatever a device sends.
const maxQuoted = 32

// decoder decodes one kind's state payloads as a Config lays them out.
// It holds no mutable state and is safe for concurrent use.
type decoder struct {
	spec *kindSpec
	// keys[i] is the JSON key of spec.fields[i] ("": not read).
	keys       []string
	socPercent bool
}

// newDecoder returns the decoder for a validated c.
func newDecoder(c Config) decoder {
	spec := specs[c.Kind]
	d := decoder{spec: spec, keys: make([]string, len(spec.fields)), socPercent: c.SoCPercent}
	for i, f := range spec.fields {
		d.keys[i] = c.Fields[f.name]
	}
	return d
}

// decode turns a state payload into a reading. The payload must be a JSON
// object; each mapped field must have its type (a number is not a string,
// null is nothing) and lie in its range; a required field must be there;
// keys the config does not map are ignored. Errors wrap ErrBadPayload.
func (d decoder) decode(payload []byte) (state, error) {
	if len(payload) > maxStatePayload {
		return state{}, fmt.Errorf("%w: %d bytes, at most %d", ErrBadPayload, len(payload), maxStatePayload)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil {
		return state{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if obj == nil {
		return state{}, fmt.Errorf("%w: null, want a JSON object", ErrBadPayload)
	}
	var s state
	has := make(map[string]bool, len(d.keys))
	for i, f := range d.spec.fields {
		key := d.keys[i]
		raw, ok := obj[key]
		if key == "" || !ok {
			if f.required {
				return state{}, fmt.Errorf("%w: required field %q (key %q) missing", ErrBadPayload, f.name, key)
			}
			continue
		}
		v, err := d.parse(f, raw)
		if err != nil {
			return state{}, fmt.Errorf("%w: key %q: %v", ErrBadPayload, key, err)
		}
		f.set(&s, v)
		has[f.name] = true
	}
	if err := d.spec.finish(&s, func(name string) bool { return has[name] }); err != nil {
		return state{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	return s, nil
}

// parse reads one field's raw JSON value (known to be valid JSON).
func (d decoder) parse(f field, raw json.RawMessage) (value, error) {
	raw = bytes.TrimSpace(raw)
	if f.typ == boolean {
		switch string(raw) {
		case "true":
			return value{flag: true}, nil
		case "false":
			return value{}, nil
		}
		return value{}, fmt.Errorf("want true or false, got %s", quote(raw))
	}
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return value{}, fmt.Errorf("want a number, got %s", quote(raw))
	}
	if f.typ == integer {
		// Parsed as an integer, exactly: as a float, 2⁵³+1 would round
		// into range.
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return value{}, fmt.Errorf("want an integer, got %s", quote(raw))
		}
		if n < int64(f.lo) || n > int64(f.hi) {
			return value{}, fmt.Errorf("%d outside [%v, %v]", n, f.lo, f.hi)
		}
		return value{num: float64(n)}, nil
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return value{}, fmt.Errorf("number %s: %w", quote(raw), errors.Unwrap(err))
	}
	lo, hi, scale := f.lo, f.hi, 1.0
	if f.percent && d.socPercent {
		lo, hi, scale = 0, 100, 100
	}
	if !(x >= lo && x <= hi) {
		return value{}, fmt.Errorf("%v outside [%v, %v]", x, lo, hi)
	}
	return value{num: x / scale}, nil
}

// quote renders a raw value for an error, cut to maxQuoted bytes.
func quote(raw []byte) string {
	if len(raw) > maxQuoted {
		return strconv.Quote(string(raw[:maxQuoted])) + "…"
	}
	return string(raw)
}
