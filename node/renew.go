package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// A certificate is renewed without a restart: `gridmesh neighborhood
// invite` writes a new one over the home's certificate file, the home
// notices (WatchCertificate) and presents it to every neighbor at once
// (mesh.Mesh.RenewCertificate), who extend its admission to the new
// expiry; a network opened anew presents it too.

// certificateCheckPeriod is how often WatchCertificate looks at the
// certificate file. Why a minute: a certificate is renewed days or weeks
// before it expires (a year by default), so a minute is prompt, and a
// stat a minute costs nothing.
const certificateCheckPeriod = time.Minute

// ErrNetworkDown: the home's network is closed (it is being reopened);
// try again.
var ErrNetworkDown = errors.New("node: the home's network is down")

// meshConfig is the mesh configuration a network opens with: cfg's, with
// the renewed certificate if there is one.
func (n *Node) meshConfig() mesh.Config {
	cfg := n.cfg.Mesh
	if c := n.renewed.Load(); c != nil && cfg.Admission != nil {
		a := *cfg.Admission
		a.Own = *c
		cfg.Admission = &a
	}
	return cfg
}

// RenewCertificate has the home present c from now on: to every peer
// connected now, and on every connection and network opened later. c
// must be this home's (peer, home, neighborhood), signed by the
// neighborhood's key and valid now.
func (n *Node) RenewCertificate(ctx context.Context, c gridmesh.Membership) error {
	nw := n.up.Load()
	if nw == nil {
		return ErrNetworkDown
	}
	if err := nw.mesh.RenewCertificate(ctx, c); err != nil {
		return err
	}
	n.renewed.Store(&c)
	return nil
}

// WatchCertificate looks at the certificate file at path every
// certificateCheckPeriod and renews the home's certificate with a new
// one written there (RenewCertificate), until ctx ends. A file that does
// not load, or a certificate refused, is logged and looked at again when
// the file changes; one the network was down for is tried again at the
// next look.
func (n *Node) WatchCertificate(ctx context.Context, path string) error {
	last := fileStamp(path)
	tick := time.NewTicker(certificateCheckPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		st := fileStamp(path)
		if st == last {
			continue
		}
		c, err := LoadMembership(path)
		if err == nil {
			err = n.RenewCertificate(ctx, c)
		}
		switch {
		case errors.Is(err, ErrNetworkDown):
			continue // look again at the next tick
		case err != nil:
			n.log.Warn("certificate file changed, but not renewed", "path", path, "err", err)
		}
		last = st
	}
}

// fileStamp identifies a version of the file at path: its size and
// modification time; "" when it cannot be read.
func fileStamp(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", st.Size(), st.ModTime().UnixNano())
}
