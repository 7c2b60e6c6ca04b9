package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// revokeTimeout bounds the POST to the member: it answers once the
// leader committed the revocation (at most about 15 s, see node).
const revokeTimeout = 20 * time.Second

// neighborhoodRevokeCmd signs a revocation of a home's peer ID with the
// neighborhood's key and submits it through a member's HTTP endpoint
// (--home-addr, or the http: address of --config's home file), which has
// the neighborhood's Raft leader commit it.
func neighborhoodRevokeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("neighborhood revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "the neighborhood's private key file ("+node.NeighborhoodKeyFile+")")
	peerID := fs.String("peer", "", "the revoked home's libp2p peer ID")
	addr := fs.String("home-addr", "", "HOST:PORT of a member's HTTP endpoint to submit through")
	config := fs.String("config", "", "a member's YAML file: submit through its http: address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" || *peerID == "" || fs.NArg() > 0 || (*addr == "") == (*config == "") {
		return usageError{errors.New("want --key FILE --peer PEERID and one of --home-addr HOST:PORT or --config HOMEFILE, and nothing else")}
	}
	if _, err := peer.Decode(*peerID); err != nil {
		return usageError{fmt.Errorf("--peer: %w", err)}
	}
	if *config != "" {
		f, err := homefile.Load(*config)
		if err != nil {
			return usageError{err}
		}
		if f.HTTP == "" {
			return usageError{fmt.Errorf("%s has no http: address to submit through", *config)}
		}
		*addr = f.HTTP
	}
	nbhd, priv, err := node.LoadNeighborhoodKey(*key)
	if err != nil {
		return err
	}
	r := gridmesh.Revocation{Version: gridmesh.WireVersion, Neighborhood: nbhd, Peer: *peerID, IssuedMs: time.Now().UnixMilli()}
	if err := r.Sign(priv); err != nil {
		return err
	}
	b, err := r.AppendBinary(nil)
	if err != nil {
		return err
	}
	if err := postRevocation(ctx, *addr, b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "peer %s revoked from %s: committed to its log; every home refuses it from now on\n", r.Peer, nbhd)
	return nil
}

// postRevocation POSTs revocation b to the member at addr and returns
// its refusal, if any.
func postRevocation(ctx context.Context, addr string, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/revocations", bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&e) // an empty reason still reports the status
	return fmt.Errorf("revoke: %s refused it (%s): %s", addr, resp.Status, e.Error)
}
