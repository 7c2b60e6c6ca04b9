package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/archive"
	"github.com/gridmesh/gridmesh/node"
)

// listFlag is a flag that may be given several times, each value
// possibly comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// archiveCmd runs `gridmesh archive`: an archiver of one or more
// neighborhoods writing Parquet files (docs/ARCHIVE.md), or with `id`
// prints the peer ID it uses in each neighborhood, to be invited with.
func archiveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	printID := len(args) > 0 && args[0] == "id"
	if printID {
		args = args[1:]
	}
	fs := flag.NewFlagSet("archive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the archive's root directory")
	dataDir := fs.String("data-dir", "", "where the archiver's identity keys live, one directory per neighborhood (created on first use)")
	network := fs.String("network", "", "the deployment's network name")
	var nbhds, boot, opKeys, listen listFlag
	fs.Var(&nbhds, "neighborhood", "a neighborhood to archive: ID, or ID:PUBFILE:CERTFILE with its public key file and the archiver's certificate (admission); repeatable")
	fs.Var(&boot, "bootstrap", "multiaddrs (with /p2p/ID) of homes to dial; repeatable or comma-separated")
	fs.Var(&opKeys, "operator-key", "a grid operator's public key (base64), so its signals are archived; repeatable")
	fs.Var(&listen, "listen", "multiaddrs to listen on (default /ip4/0.0.0.0/tcp/0)")
	roll := fs.Duration("roll", archive.DefaultRollEvery, "the receive-time window each file covers")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error, off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" || len(nbhds) == 0 || fs.NArg() > 0 || !printID && (*dir == "" || *network == "" || len(boot) == 0) {
		return usageError{errors.New("want --dir DIR --data-dir DIR --network NAME --bootstrap MULTIADDR[,...] --neighborhood ID[:PUBFILE:CERTFILE] [...]")}
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	cfg := archive.DefaultConfig(*dir)
	cfg.RollEvery = *roll
	cfg.Mesh.Network = *network
	cfg.Mesh.Bootstrap = boot
	cfg.Mesh.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/0"}
	if len(listen) > 0 {
		cfg.Mesh.ListenAddrs = listen
	}
	for _, k := range opKeys {
		pub, err := node.ParseOperatorKey(k)
		if err != nil {
			return usageError{err}
		}
		cfg.Mesh.Region.OperatorKeys = append(cfg.Mesh.Region.OperatorKeys, pub)
	}
	for _, spec := range nbhds {
		m, err := archiveMember(spec, *dataDir)
		if err != nil {
			return err
		}
		if printID {
			id, _ := peer.IDFromPrivateKey(m.Key) // the key was just loaded
			fmt.Fprintf(stdout, "%s %s\n", m.Neighborhood, id)
			continue
		}
		cfg.Members = append(cfg.Members, m)
	}
	if printID {
		return nil
	}
	a, err := archive.New(cfg, log)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stderr, "archiving %d neighborhoods to %s as %s\n", len(cfg.Members), *dir, a.Tag())
	return a.Run(ctx)
}

// archiveMember reads one --neighborhood: ID, or ID:PUBFILE:CERTFILE,
// with the archiver's key for it from dataDir/ID.
func archiveMember(spec, dataDir string) (archive.Member, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 1 && len(parts) != 3 {
		return archive.Member{}, usageError{fmt.Errorf("--neighborhood %q: want ID or ID:PUBFILE:CERTFILE", spec)}
	}
	m := archive.Member{Neighborhood: gridmesh.NeighborhoodID(parts[0])}
	if err := m.Neighborhood.Validate(); err != nil {
		return archive.Member{}, usageError{err}
	}
	key, err := node.LoadOrCreateKey(filepath.Join(dataDir, parts[0]))
	if err != nil {
		return archive.Member{}, err
	}
	m.Key = key
	if len(parts) == 3 {
		if m.Admission, err = node.LoadAdmission(parts[1], parts[2], time.Now()); err != nil {
			return archive.Member{}, err
		}
	}
	return m, nil
}
