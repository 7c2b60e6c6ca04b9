package node_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
)

// keyForms are the ways a private key's bytes could show up in text:
// hex, base64 (standard and URL), and the body of a PEM block, of the
// raw key, its seed, and libp2p's marshalled form.
func keyForms(t *testing.T, k crypto.PrivKey) []string {
	t.Helper()
	raw, err := k.Raw()
	if err != nil {
		t.Fatal(err)
	}
	marshalled, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	var forms []string
	for _, b := range [][]byte{raw, raw[:32], marshalled} {
		forms = append(forms, hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
		block := pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: b})
		body := strings.Join(strings.Split(string(block), "\n")[1:2], "")
		forms = append(forms, body)
	}
	return forms
}

// No key ever appears in a log line (at debug level) or in /status.
func TestKeyNeverInLogsOrStatus(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var key crypto.PrivKey
	homes := startNeighborhoodDeps(t, func(c *node.Config, d *node.Deps) {
		c.HTTPAddr = "127.0.0.1:0"
		d.Logger = log
		key = d.Key
	})
	h := homes[0]
	h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 0})
	waitFor(t, "the home to plan", 20*time.Second, func() bool { return h.n.HTTPAddr() != "" && h.n.Status().HasPlan })
	resp, err := http.Get("http://" + h.n.HTTPAddr() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	status, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if logs.String() == "" || len(status) == 0 {
		t.Fatalf("nothing to look in: %d bytes of logs, %d of status", len(logs.String()), len(status))
	}
	for _, form := range keyForms(t, key) {
		if strings.Contains(logs.String(), form) {
			t.Errorf("the key appears in the logs as %q", form)
		}
		if bytes.Contains(status, []byte(form)) {
			t.Errorf("the key appears in /status as %q", form)
		}
	}
}
