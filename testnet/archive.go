package testnet

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/archive"
	"github.com/gridmesh/gridmesh/mesh"
)

// ArchiveReport is what the run's archiver wrote, and what the homes
// published, so a reader of the archive can check the one against the
// other.
type ArchiveReport struct {
	Dir string `json:"dir"`
	// Tag names the archiver's files (part-<tag>-NNNN.parquet).
	Tag   string `json:"tag"`
	Files int64  `json:"files"`
	Bytes int64  `json:"bytes"`
	// Rows counts the rows committed, by table.
	Rows map[string]int64 `json:"rows"`
	// Homes are, per home, the reports it published and those archived.
	Homes []ArchivedHome `json:"homes"`
}

// ArchivedHome is one home's reports, published and archived.
type ArchivedHome struct {
	Home         gridmesh.HomeID         `json:"home"`
	Neighborhood gridmesh.NeighborhoodID `json:"nbhd"`
	Published    uint64                  `json:"published"`
	Archived     int64                   `json:"archived"`
}

// cityArchiver is the run's archiver while it runs.
type cityArchiver struct {
	a      *archive.Archiver
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, readable after done
}

// startArchiver starts an archiver of every neighborhood, admitted with
// a certificate of each (one identity per neighborhood, as admission
// wants), bootstrapping to each neighborhood's first two homes. It runs
// until stop.
func (c *city) startArchiver(ctx context.Context, dir string, log *slog.Logger) (*cityArchiver, error) {
	cfg := archive.DefaultConfig(dir)
	cfg.Mesh.Network = c.cfg.Network
	if c.cfg.ArchiveRoll > 0 {
		cfg.RollEvery = c.cfg.ArchiveRoll
	}
	cfg.Mesh.Region = c.homes[0].cfg.Mesh.Region // the operator's key and every neighborhood's (regional.go)
	now := time.Now()
	for _, nb := range c.nbhds {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("archiver key: %w", err)
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("archiver key: %w", err)
		}
		cert, err := issue(nb.priv, nb.id, id, gridmesh.HomeID("archive-"+string(nb.id)), now)
		if err != nil {
			return nil, fmt.Errorf("archiver of %s: %w", nb.id, err)
		}
		adm := mesh.DefaultAdmission(nb.key, cert)
		adm.Timeout = c.cfg.AdmissionTimeout
		m := archive.Member{Neighborhood: nb.id, Key: key, Admission: adm}
		for _, h := range nb.homes[:min(2, len(nb.homes))] {
			m.Bootstrap = append(m.Bootstrap, h.p2pAddr())
		}
		cfg.Members = append(cfg.Members, m)
	}
	a, err := archive.New(cfg, log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	ca := &cityArchiver{a: a, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ca.done)
		ca.err = a.Run(ctx)
	}()
	select {
	case <-a.Ready():
		return ca, nil
	case <-ca.done:
		cancel()
		return nil, fmt.Errorf("archiver: %w", ca.err)
	}
}

// stop stops the archiver, which commits its open files, and reports
// what it wrote beside what the homes published. Call it after the
// homes stopped, so that every report the archiver received is in.
func (ca *cityArchiver) stop(c *city, dir string) (*ArchiveReport, error) {
	ca.shutdown()
	st := ca.a.Stats()
	rep := &ArchiveReport{Dir: dir, Tag: ca.a.Tag(), Rows: map[string]int64{}}
	for name, t := range st.Tables {
		rep.Files += t.Files
		rep.Bytes += t.Bytes
		rep.Rows[name] = t.Rows
	}
	for _, h := range c.homes {
		var published uint64
		for _, s := range h.runs {
			published += s.Counters["reports_published"]
		}
		nb := c.nbhds[h.nbhd].id
		rep.Homes = append(rep.Homes, ArchivedHome{Home: h.id, Neighborhood: nb, Published: published,
			Archived: st.TelemetryRows[string(nb)][string(h.id)]})
	}
	slices.SortFunc(rep.Homes, func(a, b ArchivedHome) int {
		if a.Home < b.Home {
			return -1
		}
		return 1
	})
	if ca.err != nil {
		return rep, fmt.Errorf("archiver: %w", ca.err)
	}
	return rep, nil
}

// shutdown stops the archiver and waits for it; it may be called again.
func (ca *cityArchiver) shutdown() {
	ca.cancel()
	<-ca.done
}
