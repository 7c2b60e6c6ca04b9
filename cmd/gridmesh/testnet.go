package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/operator/openadr"
	"github.com/gridmesh/gridmesh/testnet"
)

// testnetCmd parses `gridmesh testnet` flags, runs the city, writes the
// report and fails when the report lists errors.
func testnetCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := testnet.DefaultConfig()
	fs := flag.NewFlagSet("testnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Homes, "homes", cfg.Homes, "homes in the city")
	fs.IntVar(&cfg.Neighborhoods, "neighborhoods", cfg.Neighborhoods, "neighborhoods (feeders); homes are dealt out among them")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the scenarios run")
	scenario := fs.String("scenario", strings.Join(cfg.Scenarios, ","), "comma-separated scenarios: "+strings.Join(testnet.Scenarios, ", "))
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for the homes' devices")
	fs.IntVar(&cfg.Voters, "voters", cfg.Voters, "Raft voters per neighborhood")
	fs.StringVar(&cfg.Transport, "transport", cfg.Transport, "network the homes speak over: tcp (loopback sockets) or mem (the same hosts in memory, no socket: for cities beyond the process's file descriptors)")
	fs.DurationVar(&cfg.AdmissionTimeout, "admission-timeout", cfg.AdmissionTimeout, "how long a home gives a new peer to present its membership certificate before refusing it; a peer claiming membership gets at least 10 s and this home's progress (docs/SCALING.md, how the city degrades)")
	fs.IntVar(&cfg.StartParallel, "start-parallel", cfg.StartParallel, "neighborhoods starting their homes at once, each one home after the other (0: one neighborhood in eight)")
	fs.IntVar(&cfg.SunSpecHomes, "sunspec-homes", cfg.SunSpecHomes, "homes that reach their devices over Modbus TCP (a Go SunSpec server per home)")
	target := fs.Float64("target-w-per-home", float64(cfg.TargetPerHomeW), "steady feeder import asked per home, W")
	cut := fs.Float64("dr-cut-w-per-home", float64(cfg.DRCutPerHomeW), "import cut the dr scenario asks per home, W")
	fs.Float64Var(&cfg.Speed, "speed", cfg.Speed, "run device physics, profiles and forecasts this many times faster than real time (network at real speed)")
	fs.DurationVar(&cfg.Outage, "outage", cfg.Outage, "how long the outage scenario loses the grid, in simulated time")
	fs.DurationVar(&cfg.OutageAt, "outage-at", cfg.OutageAt, "when, in real time from the start, the outage scenario loses the grid (0: two settle times and a second)")
	fs.BoolVar(&cfg.NoSharing, "no-sharing", cfg.NoSharing, "outage baseline: every home on its own battery, balancing and shedding for itself alone (no island plan, no sharing)")
	fs.BoolVar(&cfg.DeviceLike, "device-like", cfg.DeviceLike, "give every home's battery a real one's manners: it reacts 0.3 s late, ramps at 2 kW/s and reports its power with 50 W of noise (testnet.DeviceLikeBattery)")
	fs.BoolVar(&cfg.FullHomes, "full-homes", cfg.FullHomes, "give every home an EV charger, a heat pump and sheddable load (implied by outage and --profiles)")
	profiles := fs.String("profiles", "", "CSV time_s,load_w,pv_w driving every home's load and PV (scaled and jittered per home)")
	fs.StringVar(&cfg.Archive, "archive", "", "run an archiver of every neighborhood, writing the run's telemetry, plans, signals and aggregates as Parquet files under this directory (docs/ARCHIVE.md)")
	fs.DurationVar(&cfg.ArchiveRoll, "archive-roll", 0, "with --archive: the window each file covers (default an hour)")
	applyRegulation := addRegulationFlags(fs, &cfg)
	vtn := addOpenADRFlags(fs)
	report := fs.String("report", "report.json", "where to write the JSON report")
	htmlReport := fs.String("html", "", "also write the report as one self-contained HTML file of plots and figures here (open it in a browser)")
	quiet := fs.Bool("quiet", false, "no per-second summary")
	logLevel := fs.String("log-level", "warn", "log level on stderr: debug, info, warn, error, off")
	raftLevel := fs.String("raft-log-level", "off", "level of Raft's own messages (a killed leader makes the others log every failed heartbeat): debug, info, warn, error, off")
	inProcess := fs.Bool("flooder-in-process", false, "run the flood scenario's flooder in the city's process, as tests do, not as a process of its own (gridmesh attack-flood)")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler on this loopback address (e.g. 127.0.0.1:6060) while the city runs")
	gcPercent := fs.Int("gc-percent", testnetGCPercent, "the process's GOGC: its heap grows to (1 + this/100) times the live heap between collections (the environment's GOGC wins)")
	memLimit := fs.Int("memory-limit-mb", testnetMemoryLimitMiB, "the process's soft memory limit, MiB: past it the collector runs as often as it must (the environment's GOMEMLIMIT wins)")
	httpAddr := fs.String("http", "", "serve the city's live page on this address (e.g. 127.0.0.1:8080) while it runs; every home then serves its own on a loopback port, linked from it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	var err error
	if cfg.Scenarios, err = testnet.ParseScenarios(*scenario); err != nil {
		return usageError{err}
	}
	cfg.TargetPerHomeW, cfg.DRCutPerHomeW = gridmesh.W(*target), gridmesh.W(*cut)
	if *profiles != "" {
		if cfg.Profiles, err = testnet.ReadProfiles(*profiles); err != nil {
			return usageError{err}
		}
	}
	if err := applyRegulation(); err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	if cfg.Node.Raft.LogLevel, err = parseLevel(*raftLevel); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !*quiet {
		cfg.Summary = stdout
	}
	if cfg.Operator, err = vtn(log); err != nil {
		return usageError{err}
	}
	applyGC(gcSettings(os.Getenv, *gcPercent, *memLimit))
	if *pprofAddr != "" {
		stopProfiler, err := serveProfiler(*pprofAddr)
		if err != nil {
			return err
		}
		defer stopProfiler()
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return fmt.Errorf("city page: %w", err)
		}
		cfg.Dashboard = ln // Run closes it
		fmt.Fprintf(stdout, "city page: http://%s/\n", ln.Addr())
	}
	// The flooder floods from a process of its own, as a compromised box
	// would from its own CPU (testnet.FlooderSpec).
	if exe, err := os.Executable(); err == nil && !*inProcess {
		cfg.FlooderCommand = []string{exe, "attack-flood"}
	}
	fmt.Fprintf(stdout, "gridmesh testnet: %d homes in %d neighborhoods for %v, scenarios %s\n",
		cfg.Homes, cfg.Neighborhoods, cfg.Duration, strings.Join(cfg.Scenarios, ","))
	rep, err := testnet.Run(ctx, cfg, log)
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
		fmt.Fprintf(stdout, "html report: %s\n", *htmlReport)
	}
	printReport(stdout, rep, *report)
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d errors in the run (see %s): %s", len(rep.Errors), *report, strings.Join(rep.Errors, "; "))
	}
	return nil
}

// printReport writes the report's headline figures.
func printReport(w io.Writer, rep *testnet.Report, path string) {
	fmt.Fprintf(w, "\nreport: %s\n", path)
	// A loaded machine shows here: late events, and a run that went on
	// past its duration for a late fault's recovery or a pending verdict.
	fmt.Fprintf(w, "  ran %.1f s (duration %.1f s), events up to %.0f ms late\n", rep.RanS, rep.DurationS, rep.EventsLateMaxMs)
	for _, nb := range rep.Neighborhood {
		fmt.Fprintf(w, "  %s: %d/%d homes live, leader %s, %d leader changes, %d plans, coverage %.2f, target %v achieved %v, tracking error %.2f%%\n",
			nb.ID, nb.LiveHomes, nb.Homes, nb.Leader, nb.LeaderChanges, nb.PlansCommitted, nb.PlanCoverage, nb.TargetW, nb.AchievedW, nb.TrackingErrorPct)
	}
	s := rep.SignalToSetpointMs
	fmt.Fprintf(w, "  signal→setpoint ms: p50 %.1f p99 %.1f max %.1f (n=%d)\n", s.P50, s.P99, s.Max, s.N)
	fmt.Fprintf(w, "  failover ms: %v\n", rep.FailoverMs)
	fmt.Fprintf(w, "  homes without a valid plan (max): %d, loop ticks missed: %d (unsettled, skipped: %d of %d), rejected messages: %v\n",
		rep.HomesWithoutValidPlanMax, rep.LoopTicksMissed, rep.LoopTicksUnsettled, rep.LoopTicks, rep.RejectedMessages)
	if p := rep.PrimaryResponseMs; p.N > 0 {
		fmt.Fprintf(w, "  primary response ms: p50 %.1f p99 %.1f max %.1f (n=%d), late %d\n", p.P50, p.P99, p.Max, p.N, rep.PrimaryResponseLate)
	}
	if rep.RoguePlansPublished > 0 || rep.AdmissionRefused > 0 {
		fmt.Fprintf(w, "  admission refused: %d, plans from non-members applied: %d (of %d published), rogue Raft RPCs answered: %d (of %d)\n",
			rep.AdmissionRefused, rep.PlansFromNonMembersApplied, rep.RoguePlansPublished, rep.RogueRaftRPCsAnswered, rep.RogueRaftRPCs)
	}
	if is := rep.Island; is != nil {
		fmt.Fprintf(w, "  island (sharing %v, %.0f h): critical served %.2f%%, non-critical served %.2f%%, blackouts %d, black starts %d, dark home-hours %.1f, SoC %.1f%% → %.1f%% (min %.1f%%), frequency %.3f-%.3f Hz\n",
			is.Sharing, is.OutageS/3600, is.CriticalServedPct, is.NoncriticalServedPct, is.Blackouts, is.BlackStarts, is.DarkHomeHours, is.StartSoCPct, is.EndSoCPct, is.MinSoCPct, is.FrequencyMinHz, is.FrequencyMaxHz)
	}
	printRegion(w, rep)
	if len(rep.Errors) > 0 {
		fmt.Fprintf(w, "  errors: %s\n", strings.Join(rep.Errors, "; "))
	}
}

// addRegulationFlags adds the testnet's regulation flags to fs; the
// returned function applies them to cfg once fs is parsed.
func addRegulationFlags(fs *flag.FlagSet, cfg *testnet.Config) func() error {
	csvPath := fs.String("signal", "", "regulation scenario: CSV of time_s,value rows in [-1, 1] at a fixed step (default: a generated RegD-like signal)")
	perHome := fs.Float64("reg-w-per-home", float64(testnet.DefaultRegulationPerHomeW), "regulation scenario: capacity the region offers per home, W")
	return func() error {
		cfg.Regulation.PerHomeW = gridmesh.W(*perHome)
		if *csvPath == "" {
			return nil
		}
		var err error
		cfg.Regulation.Step, cfg.Regulation.Values, err = readRegulation(*csvPath)
		return err
	}
}

// addOpenADRFlags adds the testnet's OpenADR flags to fs; the returned
// function builds the bridge they ask for once fs is parsed (nil without
// --openadr-vtn).
func addOpenADRFlags(fs *flag.FlagSet) func(*slog.Logger) (*testnet.OutsideOperator, error) {
	cfg := openadr.DefaultConfig()
	fs.StringVar(&cfg.VTN, "openadr-vtn", "", "run the OpenADR VEN bridge against this VTN's base URL as the city's grid operator (capacity limits measured against the city's own targets)")
	fs.StringVar(&cfg.ClientID, "openadr-client-id", "", "with --openadr-vtn: the VEN's OAuth2 client id")
	fs.StringVar(&cfg.ClientSecret, "openadr-client-secret", "", "with --openadr-vtn: the VEN's OAuth2 client secret")
	fs.DurationVar(&cfg.PollPeriod, "openadr-poll", cfg.PollPeriod, "with --openadr-vtn: how often to poll the VTN")
	return func(log *slog.Logger) (*testnet.OutsideOperator, error) {
		if cfg.VTN == "" {
			return nil, nil
		}
		// The city's baseline is only known once it runs; validate with a
		// stand-in (openadrInCity sets the real one).
		check := cfg
		check.Convert.BaselineImportW = 1
		if err := check.Validate(); err != nil {
			return nil, err
		}
		return openadrInCity(cfg, log, nil), nil
	}
}

// printRegion writes the regional figures of a report.
func printRegion(w io.Writer, rep *testnet.Report) {
	var shares []string
	for _, nb := range rep.Neighborhood {
		if nb.RegionalShareW != 0 {
			shares = append(shares, fmt.Sprintf("%s %v", nb.ID, nb.RegionalShareW))
		}
	}
	if len(shares) > 0 {
		fmt.Fprintf(w, "  regional shares: %s\n", strings.Join(shares, ", "))
	}
	if len(rep.SignalsRejected) > 0 {
		fmt.Fprintf(w, "  signals rejected: %v\n", rep.SignalsRejected)
	}
	if reg := rep.Regulation; reg != nil {
		fmt.Fprintf(w, "  regulation: offered %v, precision (every sample) %.3f, %d samples of 10 s\n", reg.OfferedW, reg.Precision, reg.Samples)
		if s := rep.PJMScore; s != nil {
			fmt.Fprintf(w, "  pjm score: composite %.3f (accuracy %.3f, delay %.3f, precision %.3f)\n", s.Composite, s.Accuracy, s.Delay, s.Precision)
		} else {
			fmt.Fprintf(w, "  pjm score: none (%s)\n", reg.PJMScoreError)
		}
	}
}
