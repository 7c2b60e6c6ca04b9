package openadr

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

// Every JSON example the specification prints (testdata/examples, see
// oadr3/NOTICE) decodes into its generated type, and every event example
// goes through Convert and DecodeEvents.
func TestSpecificationExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/examples/*.json")
	if err != nil || len(files) < 40 {
		t.Fatalf("examples: %d files, %v", len(files), err)
	}
	decoders := map[string]func([]byte) error{
		"program":          into[oadr3.Program],
		"event":            into[oadr3.Event],
		"report":           into[oadr3.Report],
		"subscription":     into[oadr3.Subscription],
		"ven":              into[oadr3.Ven],
		"resource":         into[oadr3.Resource],
		"problem":          into[oadr3.Problem],
		"reportdescriptor": into[oadr3.ReportDescriptor],
		"notification":     into[map[string]any], // the schema is left out of generation (overlay.yaml)
	}
	events := 0
	for _, f := range files {
		kind := strings.TrimSuffix(f[strings.LastIndexByte(f, '-')+1:], ".json")
		dec, ok := decoders[kind]
		if !ok {
			t.Errorf("%s: no decoder for %q", f, kind)
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if why, ok := offSchema[filepath.Base(f)]; ok {
			if err := dec(raw); err == nil {
				t.Errorf("%s decodes strictly: drop it from offSchema (%s)", f, why)
			}
			if err := json.Unmarshal(raw, new(map[string]any)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		} else if err := dec(raw); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if kind == "event" { // DecodeEvents is lenient: unknown fields pass
			events++
			evs, err := DecodeEvents(bytes.NewReader(append(append([]byte("["), raw...), ']')))
			if err != nil || len(evs) != 1 {
				t.Errorf("%s: DecodeEvents = %d, %v", f, len(evs), err)
				continue
			}
			Convert(evs, ConvertConfig{BaselineImportW: 1e6, SimpleLevelW: 1e3}, time.Time{})
		}
	}
	if events < 20 {
		t.Errorf("only %d event examples", events)
	}
}

// offSchema are the examples that break the specification's own schema,
// and how.
var offSchema = map[string]string{
	"guide-1507-report.json": "puts payloadDescriptors (spelt payLoadType) inside a resource; the schema has them on the report",
	"guide-1464-event.json":  `names the event "name"; the schema's field is eventName`,
	"guide-1872-event.json":  `names the event "name"; the schema's field is eventName`,
}

// into decodes raw as a T, refusing fields the schema does not have.
func into[T any](raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var v T
	return dec.Decode(&v)
}

func FuzzDecodeEvents(f *testing.F) {
	files, _ := filepath.Glob("testdata/examples/*-event.json")
	for _, p := range files {
		raw, _ := os.ReadFile(p)
		f.Add(append(append([]byte("["), raw...), ']'))
	}
	f.Add([]byte(`[{"id":"e","programID":"p","intervals":[{"id":0,"payloads":[{"type":"SIMPLE","values":[3]}]}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := DecodeEvents(bytes.NewReader(b))
		if err != nil {
			return
		}
		intents, _ := Convert(evs, ConvertConfig{BaselineImportW: 1e6, SimpleLevelW: 1e3}, t0)
		for _, in := range intents {
			if in.AmountW <= 0 || !in.End.After(in.Start) || gridmesh.HomeID(in.SignalID).Validate() != nil {
				t.Fatalf("intent %+v out of range", in)
			}
		}
		Reconcile(intents, nil, t0)
	})
}

func FuzzDecodePrograms(f *testing.F) {
	files, _ := filepath.Glob("testdata/examples/*-program.json")
	for _, p := range files {
		raw, _ := os.ReadFile(p)
		f.Add(append(append([]byte("["), raw...), ']'))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodePrograms(bytes.NewReader(b))
	})
}
