package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/gridmesh/gridmesh/testnet/lab"
)

// labCmd parses `gridmesh lab` flags, runs the city as processes in
// network namespaces, writes the report and fails when it lists errors.
func labCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := lab.DefaultConfig()
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Homes, "homes", cfg.Homes, "homes, each a `gridmesh node` process in its own network namespace")
	fs.IntVar(&cfg.Neighborhoods, "neighborhoods", cfg.Neighborhoods, "neighborhoods; homes are dealt out among them")
	fs.IntVar(&cfg.NATHomes, "nat-homes", cfg.NATHomes, "homes each behind its own NAT router (masquerade, stateful firewall, no port forwarding), dealt over the neighborhoods")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "least run time (faults run one after another; the run lasts until they are done)")
	fs.StringVar(&cfg.Link, "link", cfg.Link, "every home's link: "+strings.Join(lab.ProfileNames, ", ")+" (docs/LAB.md)")
	scenario := fs.String("scenario", strings.Join(cfg.Scenarios, ","), "comma-separated faults: "+strings.Join(lab.Scenarios, ", ")+" (empty: none)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed for the homes' devices and the links' losses")
	fs.IntVar(&cfg.Kills, "kills", cfg.Kills, "how many times the kill scenario runs, on the neighborhoods in turn (the failover benchmark)")
	fs.DurationVar(&cfg.KillDowntime, "kill-downtime", cfg.KillDowntime, "how long a killed home stays down before it restarts from its data directory")
	fs.DurationVar(&cfg.SampleProcs, "sample-procs", 0, "read every home's CPU and memory from /proc this often once formed (0: off; report process_usage)")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", cfg.PollInterval, "how often every home's /status is read (the failover figures' resolution)")
	dir := fs.String("dir", "", "where the homes' files, data and logs go (default: a new temporary directory, kept)")
	report := fs.String("report", "lab-report.json", "where to write the JSON report")
	htmlReport := fs.String("html", "", "also write the report as one self-contained HTML file of plots and figures here")
	logLevel := fs.String("log-level", "info", "the lab's log level on stderr: debug, info, warn, error, off")
	httpAddr := fs.String("http", "", "serve the city's live page here while the homes run (e.g. 127.0.0.1:8080), with each home's own page under /home/{i}/ (docs/DASHBOARD.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	var err error
	if cfg.Scenarios, err = lab.ParseScenarios(*scenario); err != nil {
		return usageError{err}
	}
	if cfg.Logger, err = newLogger(stderr, *logLevel); err != nil {
		return err
	}
	if cfg.Binary, err = os.Executable(); err != nil {
		return fmt.Errorf("own binary: %w", err)
	}
	if cfg.Dir = *dir; cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "gridmesh-lab-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return fmt.Errorf("city page: %w", err)
		}
		cfg.Dashboard = ln // Run closes it
		fmt.Fprintf(stdout, "city page: http://%s/\n", ln.Addr())
	}
	rep, err := lab.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.WriteFile(*report); err != nil {
		return err
	}
	if *htmlReport != "" {
		if err := rep.WriteHTML(*htmlReport); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "lab %s: %d homes, %d neighborhoods, %s link, %.0f s; failover ms %v; stale plans applied %d; minority plans applied %d; linearizable %v (%d operations); report %s; homes' files and logs in %s\n",
		rep.RunID, rep.Homes, rep.Neighborhoods, rep.Link, rep.DurationS, rep.FailoverMs, rep.StalePlansApplied, rep.MinorityPlansApplied, rep.Linearizable, rep.LinearizabilityOps, *report, cfg.Dir)
	if len(rep.Errors) > 0 {
		return errors.New("the lab reported errors:\n  " + strings.Join(rep.Errors, "\n  "))
	}
	return nil
}
