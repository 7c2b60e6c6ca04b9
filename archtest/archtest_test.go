package archtest

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gridmesh/gridmesh"

// allowed maps each layer to the gridmesh layers it may import. A
// package's layer is its first path element (devices/sim is in devices);
// a layer may always import its own sub-packages. Test files are held to
// the same rule, so tests cannot smuggle in a dependency either.
var allowed = map[string][]string{
	"":          {},
	"devices":   {"", "internal"},
	"control":   {""},
	"mesh":      {"", "internal"},
	"consensus": {"", "internal"},
	"node":      {"", "devices", "control", "mesh", "consensus", "internal"},
	"testnet":   {"", "node", "devices", "consensus", "mesh", "internal"}, // mesh: the rogue scenario's hosts speak it
	"cmd":       {"", "node", "testnet", "devices", "internal"},
	"archtest":  {},
	// internal holds small helpers every layer may share (one backoff);
	// they import only the standard library, so they tie no layers
	// together.
	"internal": {},
}

// stdlibOnly are layers that may import nothing outside the standard
// library (and the layers above): the root vocabulary and the pure core.
var stdlibOnly = map[string]bool{"": true, "control": true, "internal": true}

func layerOf(rel string) string {
	if rel == "." || rel == "" {
		return ""
	}
	return strings.SplitN(rel, "/", 2)[0]
}

// violations walks the module tree at root and returns every import that
// breaks the rules, and how many Go files it read.
func violations(root string) ([]string, int, error) {
	var out []string
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		layer := layerOf(filepath.ToSlash(rel))
		rules, known := allowed[layer]
		if !known {
			out = append(out, fmt.Sprintf("%s: package in unknown layer %q: add it to archtest's rules", p, layer))
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if ip != module && !strings.HasPrefix(ip, module+"/") {
				if stdlibOnly[layer] && strings.Contains(strings.SplitN(ip, "/", 2)[0], ".") {
					out = append(out, fmt.Sprintf("%s imports %s: layer %q may use only the standard library", p, ip, layer))
				}
				continue
			}
			target := strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
			tl := layerOf(target)
			if tl == layer {
				continue // own package (an external test) or sub-packages
			}
			if !slices.Contains(rules, tl) {
				out = append(out, fmt.Sprintf("%s imports %s: layer %q may import only %q", p, ip, layer, rules))
			}
		}
		return nil
	})
	return out, checked, err
}

func TestImportsPointOneWay(t *testing.T) {
	bad, checked, err := violations("..")
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("read only %d Go files: the walk is broken", checked)
	}
	for _, v := range bad {
		t.Error(v)
	}
}

// The checker must fail on forbidden edges; prove it on a synthetic tree.
func TestCheckerCatchesBadImports(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"control/bad.go":    "package control\nimport _ \"github.com/gridmesh/gridmesh/mesh\"\n",
		"control/ext.go":    "package control\nimport _ \"github.com/libp2p/go-libp2p\"\n",
		"mesh/bad.go":       "package mesh\nimport _ \"github.com/gridmesh/gridmesh/consensus\"\n",
		"devices/sim/ok.go": "package sim\nimport _ \"github.com/gridmesh/gridmesh\"\n",
		"node/ok.go":        "package node\nimport _ \"github.com/gridmesh/gridmesh/devices/sim\"\n",
		"rogue/x.go":        "package rogue\n",
	}
	for name, src := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bad, _, err := violations(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"control/bad.go", "control/ext.go", "mesh/bad.go", "rogue/x.go"}
	if len(bad) != len(want) {
		t.Fatalf("got %d violations, want %d: %q", len(bad), len(want), bad)
	}
	for _, w := range want {
		if !slices.ContainsFunc(bad, func(v string) bool { return strings.Contains(filepath.ToSlash(v), w) }) {
			t.Errorf("no violation reported for %s: %q", w, bad)
		}
	}
}
