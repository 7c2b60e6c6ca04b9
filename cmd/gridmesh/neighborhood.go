package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
)

// defaultValidity is how long `neighborhood invite` makes a certificate
// last: a year, so a home is re-invited once a year rather than admitted
// forever, and a lost home's certificate dies on its own.
const defaultValidity = 8760 * time.Hour

// neighborhoodCmd runs `gridmesh neighborhood SUBCOMMAND`.
func neighborhoodCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("neighborhood: want a subcommand: init or invite")}
	}
	switch args[0] {
	case "init":
		return neighborhoodInitCmd(args[1:], stdout, stderr)
	case "invite":
		return neighborhoodInviteCmd(args[1:], stdout, stderr)
	default:
		return usageError{fmt.Errorf("neighborhood: unknown subcommand %q (known: init, invite)", args[0])}
	}
}

// neighborhoodInitCmd creates a neighborhood's membership key pair.
func neighborhoodInitCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("neighborhood init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "the neighborhood's ID")
	out := fs.String("out", "", "directory to write "+node.NeighborhoodKeyFile+" (0600) and "+node.NeighborhoodPubFile+" to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *out == "" || fs.NArg() > 0 {
		return usageError{errors.New("want --id ID --out DIR and nothing else")}
	}
	if err := gridmesh.NeighborhoodID(*id).Validate(); err != nil {
		return usageError{err}
	}
	pub, err := node.CreateNeighborhoodKey(*out, gridmesh.NeighborhoodID(*id))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "neighborhood %s: private key %s (keep it off the homes), public key %s\npublic key: %s\n",
		*id, filepath.Join(*out, node.NeighborhoodKeyFile), filepath.Join(*out, node.NeighborhoodPubFile),
		base64.StdEncoding.EncodeToString(pub))
	return nil
}

// neighborhoodInviteCmd issues a home's membership certificate.
func neighborhoodInviteCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("neighborhood invite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "the neighborhood's private key file ("+node.NeighborhoodKeyFile+")")
	peerID := fs.String("peer", "", "the home's libp2p peer ID")
	home := fs.String("home", "", "the home's ID")
	valid := fs.Duration("valid", defaultValidity, "how long the certificate lasts")
	out := fs.String("out", "", "file to write the certificate to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" || *peerID == "" || *home == "" || *out == "" || fs.NArg() > 0 {
		return usageError{errors.New("want --key FILE --peer PEERID --home HOMEID [--valid DURATION] --out FILE and nothing else")}
	}
	if *valid <= 0 {
		return usageError{fmt.Errorf("--valid %v must be positive", *valid)}
	}
	if err := gridmesh.HomeID(*home).Validate(); err != nil {
		return usageError{err}
	}
	m, err := node.IssueMembership(*key, *peerID, gridmesh.HomeID(*home), time.Now(), *valid)
	if err != nil {
		return err
	}
	if err := node.WriteMembership(*out, m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "home %s (peer %s) admitted to %s until %s: %s\n",
		m.Home, m.Peer, m.Neighborhood, m.Expires().UTC().Format(time.RFC3339), *out)
	return nil
}
