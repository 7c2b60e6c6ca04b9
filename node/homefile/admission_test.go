package homefile_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// A home file without admission: does not start, and says how to admit
// the home or open it.
func TestNoAdmissionRefused(t *testing.T) {
	f, err := homefile.Parse([]byte(strings.Replace(good, "admission: {open: true}\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = homefile.Build(context.Background(), f, "12D3KooWself", nil)
	if !errors.Is(err, homefile.ErrNoAdmission) {
		t.Fatalf("built without admission: %v", err)
	}
	for _, want := range []string{"gridmesh neighborhood init", "gridmesh neighborhood invite", "open: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}

// An open home warns, at every build, that anyone reads its
// neighborhood's data, and has no admission.
func TestOpenAdmissionWarns(t *testing.T) {
	f, err := homefile.Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h, err := homefile.Build(context.Background(), f, "12D3KooWself", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if h.Config.Mesh.Admission != nil {
		t.Error("an open home has admission on")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "anyone who can reach this home reads") {
		t.Errorf("no warning logged: %q", logs.String())
	}
}

// open and a certificate together, or half a certificate, are refused
// when parsed.
func TestAdmissionBlockShape(t *testing.T) {
	for name, block := range map[string]string{
		"open and key":                 "admission: {open: true, neighborhood_key: n.pub, certificate: h.cert}",
		"key only":                     "admission: {neighborhood_key: n.pub}",
		"empty block":                  "admission: {}",
		"open is false":                "admission: {open: false}",
		"previous key without its end": "admission: {neighborhood_key: n.pub, certificate: h.cert, previous_neighborhood_key: old.pub}",
		"end without a previous key":   "admission: {neighborhood_key: n.pub, certificate: h.cert, previous_key_until: 2027-01-01T00:00:00Z}",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := homefile.Parse([]byte(strings.Replace(good, "admission: {open: true}", block, 1))); err == nil || !strings.Contains(err.Error(), "admission") {
				t.Fatalf("parsed: %v", err)
			}
		})
	}
}

// A rotated key with the end of its overlap parses.
func TestAdmissionBlockWithRotatedKey(t *testing.T) {
	block := "admission: {neighborhood_key: n.pub, certificate: h.cert, previous_neighborhood_key: old.pub, previous_key_until: 2027-01-01T00:00:00Z}"
	f, err := homefile.Parse([]byte(strings.Replace(good, "admission: {open: true}", block, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if a := f.Admission; a.PreviousNeighborhoodKey != "old.pub" || !a.PreviousKeyUntil.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("admission %+v", a)
	}
}

// A home admitted the way the error says builds with admission on.
func TestAdmittedHomeBuilds(t *testing.T) {
	dir := t.TempDir()
	if _, err := node.CreateNeighborhoodKey(dir, "oak-street"); err != nil {
		t.Fatal(err)
	}
	key, err := node.LoadOrCreateKey(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	self, _ := peer.IDFromPrivateKey(key)
	m, err := node.IssueMembership(filepath.Join(dir, node.NeighborhoodKeyFile), self.String(), "home-1", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(dir, "home-1.cert")
	if err := node.WriteMembership(cert, m); err != nil {
		t.Fatal(err)
	}
	block := "admission: {neighborhood_key: " + filepath.Join(dir, node.NeighborhoodPubFile) + ", certificate: " + cert + "}"
	f, err := homefile.Parse([]byte(strings.Replace(good, "admission: {open: true}", block, 1)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := homefile.Build(context.Background(), f, self.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := h.Config.Mesh.Admission; a == nil || a.Own.Peer != self.String() {
		t.Fatalf("admission %+v", a)
	}
}
