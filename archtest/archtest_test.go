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

// drawn maps each layer to what the diagram (doc.go) lets it import: a
// layer (its whole tree) or one package (and its sub-packages). A
// package's layer is its first path element (devices/sim is in devices),
// except for the sub-trees in subLayers; a layer may always import its
// own packages. Test files are held to the same rules, so tests cannot
// smuggle in a dependency either.
var drawn = map[string][]string{
	"cmd":         {"testnet", "testnet/lab", "operator", "archive"},
	"testnet":     {"node", "devices", "mesh", "archive"},
	"archive":     {"mesh"},
	"testnet/lab": {"node/homefile"},
	"node":        {"devices", "control", "mesh", "consensus"},
	"operator":    {"node", "control"},
	"devices":     {""},
	"control":     {""},
	"mesh":        {""},
	"consensus":   {""},
	"":            {},
	"archtest":    {},
	"internal":    {},
}

// subLayers are sub-trees that are layers of their own, not part of the
// layer of their first path element.
var subLayers = []string{"testnet/lab"}

// Edges every layer has beyond the diagram, for one reason each.
//
// The root package is the shared vocabulary (units, IDs, messages) that
// every arrow of the diagram ends in: a layer that names a gridmesh.W or a
// gridmesh.Signal itself depends on nothing new. Only archtest, which
// has no code, and the root itself go without.
//
// internal holds small helpers (one backoff, loopback ports), each
// importing the standard library only (stdlibOnly), so they tie no
// layers together. The root and control may not use them: the root holds
// no behaviour, and control opens no socket and sets no timer.
var (
	noRoot     = map[string]bool{"": true, "archtest": true}
	noInternal = map[string]bool{"": true, "control": true, "archtest": true, "internal": true}
)

// exceptions are edges the diagram does not draw, each with why it is
// right. TestExceptionsSayWhyAndAreUsed keeps this list honest.
var exceptions = map[string]map[string]string{
	"cmd": {
		// `gridmesh node` runs one home; `keygen` and `signal` are the grid
		// operator's (node.Operator, node/regulation); `neighborhood`
		// writes home files: the command line parses and calls node.
		"node": "the command line runs a home and the operator's tools, which live in node",
		// `gridmesh devices` serves simulated devices over MQTT and
		// Modbus/SunSpec for real homes to drive.
		"devices": "the command line serves simulated devices for homes to drive",
	},
	"testnet": {
		// node.Config's Raft field is a consensus.Config: a city that
		// lists its neighborhoods' voters up front (StaticVoters) writes
		// consensus.Server values. And the rogue scenario speaks Raft's
		// own protocol (consensus.ProtocolID) as an outsider would, to
		// prove a non-member's Raft RPCs go unanswered; a copy of the
		// protocol string would let the test pass against a protocol no
		// home speaks.
		"consensus": "a city configures its homes' Raft voters and its rogue dials Raft's protocol",
	},
	"testnet/lab": {
		// The lab serves the city's page the testnet serves, built from
		// its homes' /status: node/dashboard is the page and its stream,
		// standard library only, and holds no node's memory (node builds
		// a home's page in package node, which the lab never imports).
		"node/dashboard": "the lab serves the same city page as the testnet",
	},
}

// stdlibOnly are layers that may import nothing outside the standard
// library (and the layers above): the root vocabulary, the pure core and
// the shared helpers.
var stdlibOnly = map[string]bool{"": true, "control": true, "internal": true}

func layerOf(rel string) string {
	if rel == "." || rel == "" {
		return ""
	}
	for _, s := range subLayers {
		if rel == s || strings.HasPrefix(rel, s+"/") {
			return s
		}
	}
	return strings.SplitN(rel, "/", 2)[0]
}

// allows reports whether rule (a layer, or one package) admits the
// package target, of layer tl.
func allows(rule, target, tl string) bool {
	if rule == tl {
		return true
	}
	return layerOf(rule) == tl && (target == rule || strings.HasPrefix(target, rule+"/"))
}

// rulesOf is what layer may import, and whether the layer is known.
func rulesOf(layer string) ([]string, bool) {
	rules, known := drawn[layer]
	if !known {
		return nil, false
	}
	rules = slices.Clone(rules)
	for target := range exceptions[layer] {
		rules = append(rules, target)
	}
	if !noRoot[layer] && !slices.Contains(rules, "") {
		rules = append(rules, "")
	}
	if !noInternal[layer] {
		rules = append(rules, "internal")
	}
	return rules, true
}

// edge is an import rule of a layer that some file used.
type edge struct{ from, rule string }

// violations walks the module tree at root and returns every import that
// breaks the rules, how many Go files it read, and which rules the
// imports used.
func violations(root string) ([]string, int, map[edge]bool, error) {
	var out []string
	used := map[edge]bool{}
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
		rules, known := rulesOf(layer)
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
			i := slices.IndexFunc(rules, func(r string) bool { return allows(r, target, tl) })
			if i < 0 {
				out = append(out, fmt.Sprintf("%s imports %s: layer %q may import only %q", p, ip, layer, rules))
				continue
			}
			used[edge{layer, rules[i]}] = true
		}
		return nil
	})
	return out, checked, used, err
}

func TestImportsPointOneWay(t *testing.T) {
	bad, checked, _, err := violations("..")
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

// Every exception says why, is not drawn already, and is still needed by
// some import: one that no code uses any more is a door left open.
func TestExceptionsSayWhyAndAreUsed(t *testing.T) {
	_, _, used, err := violations("..")
	if err != nil {
		t.Fatal(err)
	}
	for layer, targets := range exceptions {
		for target, why := range targets {
			if strings.TrimSpace(why) == "" {
				t.Errorf("exception %s → %s gives no reason", layer, target)
			}
			if slices.Contains(drawn[layer], target) {
				t.Errorf("exception %s → %s is drawn in the diagram already", layer, target)
			}
			if !used[edge{layer, target}] {
				t.Errorf("exception %s → %s: no import needs it any more; remove it", layer, target)
			}
		}
	}
}

// The checker must fail on forbidden edges; prove it on a synthetic tree.
func TestCheckerCatchesBadImports(t *testing.T) {
	root := t.TempDir()
	imp := func(pkg, path string) string {
		return fmt.Sprintf("package %s\nimport _ %q\n", pkg, path)
	}
	files := map[string]string{
		// forbidden
		"control/bad.go":      imp("control", module+"/mesh"),
		"control/ext.go":      imp("control", "github.com/libp2p/go-libp2p"),
		"control/helper.go":   imp("control", module+"/internal/backoff"),
		"mesh/bad.go":         imp("mesh", module+"/consensus"),
		"testnet/lab/node.go": imp("lab", module+"/node"),
		"testnet/lab/city.go": imp("lab", module+"/testnet"),
		"testnet/lab_in.go":   imp("testnet", module+"/testnet/lab"),
		"testnet/control.go":  imp("testnet", module+"/control"),
		"cmd/gridmesh/m.go":   imp("main", module+"/mesh"),
		"internal/x/bad.go":   imp("x", module+"/node"),
		"rogue/x.go":          "package rogue\n",
		// allowed
		"devices/sim/ok.go":        imp("sim", module),
		"node/ok.go":               imp("node", module+"/devices/sim"),
		"testnet/lab/homefile.go":  imp("lab", module+"/node/homefile"),
		"testnet/lab/root.go":      imp("lab", module),
		"testnet/lab/retry.go":     imp("lab", module+"/internal/backoff"),
		"testnet/rogue.go":         imp("testnet", module+"/consensus"),
		"cmd/gridmesh/lab.go":      imp("main", module+"/testnet/lab"),
		"cmd/gridmesh/signal.go":   imp("main", module+"/node/regulation"),
		"internal/backoff/ok.go":   imp("backoff", "time"),
		"internal/freeport/ok.go":  imp("freeport", module+"/internal/backoff"),
		"archtest/archtest_ok.go":  "package archtest\nimport _ \"go/parser\"\n",
		"devices/mqtt/internal.go": imp("mqtt", module+"/internal/backoff"),
	}
	want := []string{
		"control/bad.go", "control/ext.go", "control/helper.go", "mesh/bad.go",
		"testnet/lab/node.go", "testnet/lab/city.go", "testnet/lab_in.go", "testnet/control.go",
		"cmd/gridmesh/m.go", "internal/x/bad.go", "rogue/x.go",
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
	bad, _, _, err := violations(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != len(want) {
		t.Errorf("got %d violations, want %d: %q", len(bad), len(want), bad)
	}
	for _, w := range want {
		named := func(v string) bool {
			v = filepath.ToSlash(v)
			return strings.Contains(v, "/"+w+" ") || strings.Contains(v, "/"+w+":")
		}
		if !slices.ContainsFunc(bad, named) {
			t.Errorf("no violation reported for %s: %q", w, bad)
		}
	}
}
