package node

import "testing"

// The settings file is read back at every start: no content may panic,
// and whatever is accepted is valid settings.
func FuzzDecodeOwner(f *testing.F) {
	f.Add([]byte(`{"version":1,"settings":{"reserve_pct":30,"opt_out_next":false,"paused":true,"pause_until_ms":5}}`))
	f.Add([]byte(`{"version":1,"settings":{"reserve_pct":300}}`))
	f.Add([]byte(`{"version":2,"settings":{}}`))
	f.Add([]byte(`{"version":1,"settings":{},"x":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeOwner(b)
		if err == nil && s.Validate() != nil {
			t.Fatalf("accepted invalid settings %+v", s)
		}
	})
}
