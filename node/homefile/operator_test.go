package homefile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// operatorKey is a valid public key in the form gridmesh keygen prints.
const operatorKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

func TestOperatorKeys(t *testing.T) {
	f, err := homefile.Parse([]byte(good + "operator_keys: [\"" + operatorKey + "\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := homefile.Build(context.Background(), f, "12D3KooWself", nil)
	if err != nil {
		t.Fatal(err)
	}
	if keys := h.Config.Mesh.Region.OperatorKeys; len(keys) != 1 || len(keys[0]) != 32 {
		t.Fatalf("operator keys %v", keys)
	}
	for name, k := range map[string]string{"not base64": "not a key!", "short": "AAAA", "empty": ""} {
		_, err := homefile.Parse([]byte(good + "operator_keys: [\"" + k + "\"]\n"))
		if err == nil || !strings.Contains(err.Error(), "operator_keys[0]") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := homefile.Parse([]byte(good + "operator_key: [\"" + operatorKey + "\"]\n")); err == nil {
		t.Error("a misspelled key was accepted")
	}
}
