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

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// defaultValidity is how long `neighborhood invite` makes a certificate
// last: a year, so a home is re-invited once a year rather than admitted
// forever, and a lost home's certificate dies on its own.
const defaultValidity = 8760 * time.Hour

// neighborhoodCmd runs `gridmesh neighborhood SUBCOMMAND`.
func neighborhoodCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("neighborhood: want a subcommand: init, invite or revoke")}
	}
	switch args[0] {
	case "init":
		return neighborhoodInitCmd(args[1:], stdout, stderr)
	case "invite":
		return neighborhoodInviteCmd(args[1:], stdout, stderr)
	case "revoke":
		return neighborhoodRevokeCmd(ctx, args[1:], stdout, stderr)
	default:
		return usageError{fmt.Errorf("neighborhood: unknown subcommand %q (known: init, invite, revoke)", args[0])}
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

// neighborhoodInviteCmd issues a home's membership certificate. With
// --config it reads the home's ID and peer ID (creating its identity key
// on first use) from the home's file, writes the certificate into the
// home's data_dir unless --out says otherwise, and prints the admission:
// block to paste into the file.
func neighborhoodInviteCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("neighborhood invite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "the neighborhood's private key file ("+node.NeighborhoodKeyFile+")")
	config := fs.String("config", "", "the home's YAML file: takes --peer and --home from it and prints the admission: block")
	peerID := fs.String("peer", "", "the home's libp2p peer ID")
	home := fs.String("home", "", "the home's ID")
	valid := fs.Duration("valid", defaultValidity, "how long the certificate lasts")
	fs.DurationVar(valid, "valid-for", defaultValidity, "the same as --valid")
	out := fs.String("out", "", "file to write the certificate to (with --config: "+membershipFile+" in the home's data_dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	withConfig := *config != "" && *peerID == "" && *home == ""
	if *key == "" || fs.NArg() > 0 || !withConfig && (*peerID == "" || *home == "" || *out == "") {
		return usageError{errors.New("want --key FILE and either --config HOMEFILE [--out FILE] or --peer PEERID --home HOMEID --out FILE, [--valid DURATION] and nothing else")}
	}
	if *valid <= 0 {
		return usageError{fmt.Errorf("--valid %v must be positive", *valid)}
	}
	if withConfig {
		f, err := homefile.Load(*config)
		if err != nil {
			return usageError{err}
		}
		self, err := homePeerID(f.DataDir)
		if err != nil {
			return err
		}
		*peerID, *home = self, string(f.Home)
		if *out == "" {
			*out = filepath.Join(f.DataDir, membershipFile)
		}
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
	if withConfig {
		// Absolute, so the block works whatever directory the home
		// starts in.
		pub, err := filepath.Abs(filepath.Join(filepath.Dir(*key), node.NeighborhoodPubFile))
		if err != nil {
			return fmt.Errorf("neighborhood public key path: %w", err)
		}
		cert, err := filepath.Abs(*out)
		if err != nil {
			return fmt.Errorf("certificate path: %w", err)
		}
		fmt.Fprintf(stdout, "paste into %s:\nadmission:\n  neighborhood_key: %s\n  certificate: %s\n", *config, pub, cert)
	}
	return nil
}

// membershipFile is where `invite --config` puts a home's certificate in
// its data_dir.
const membershipFile = "membership.cert"

// homePeerID returns the peer ID of the home whose data_dir is dir,
// creating its identity key on first use.
func homePeerID(dir string) (string, error) {
	k, err := node.LoadOrCreateKey(dir)
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("peer ID: %w", err)
	}
	return id.String(), nil
}
