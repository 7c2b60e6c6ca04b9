package openadr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

// Config is a bridge's VTN, credentials and conversion.
type Config struct {
	// VTN is the VTN's base URL, e.g. https://vtn.example/openadr3/3.0.1.
	VTN string
	// ClientID and ClientSecret are the VEN's OAuth2 client credentials.
	ClientID, ClientSecret string
	// TokenURL is the OAuth2 token endpoint ("": VTN + "/auth/token", the
	// specification's own).
	TokenURL string
	// ClientName names the VEN in its reports.
	ClientName string
	// ProgramID, if set, follows that program's events only.
	ProgramID string
	// PollPeriod is how often the VTN is asked for events.
	PollPeriod time.Duration
	// RequestTimeout bounds one HTTP exchange with the VTN.
	RequestTimeout time.Duration
	Convert        ConvertConfig
}

// Defaults, and why.
const (
	// DefaultPollPeriod: OpenADR VENs commonly poll every 10 s; a signal
	// then reaches the region within 10 s of the VTN publishing it, well
	// inside a demand-response event's notice.
	DefaultPollPeriod = 10 * time.Second
	// DefaultRequestTimeout: well past a VTN's answer across the
	// internet, well short of a poll period.
	DefaultRequestTimeout = 8 * time.Second
	// pageLimit is the most events the specification lets a VTN return at
	// once.
	pageLimit = 50
	// maxPages bounds one poll's pagination (2,500 events).
	maxPages = 50
)

// DefaultConfig returns the defaults; set VTN, ClientID, ClientSecret and
// Convert.
func DefaultConfig() Config {
	return Config{ClientName: "gridmesh", PollPeriod: DefaultPollPeriod, RequestTimeout: DefaultRequestTimeout}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	u, err := url.Parse(c.VTN)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("openadr: VTN %q is not an http(s) URL", c.VTN)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return errors.New("openadr: client id and secret are required")
	}
	if c.ClientName == "" || len(c.ClientName) > 128 {
		return errors.New("openadr: client name must be 1 to 128 characters")
	}
	if c.PollPeriod <= 0 || c.RequestTimeout <= 0 {
		return errors.New("openadr: poll period and request timeout must be positive")
	}
	if c.Convert.BaselineImportW < 0 || c.Convert.SimpleLevelW < 0 {
		return errors.New("openadr: baseline and SIMPLE level must not be negative")
	}
	if c.Convert.BaselineImportW == 0 && c.Convert.SimpleLevelW == 0 {
		return errors.New("openadr: set a baseline import or a SIMPLE level size: otherwise no event is acted on")
	}
	return nil
}

// Publisher signs and publishes a signal on the region topic and returns
// it as sent (node.Operator does).
type Publisher interface {
	Publish(ctx context.Context, s gridmesh.Signal) (gridmesh.Signal, error)
}

// Meter says what the region delivers for a signal in force and offers
// in all, for reports.
type Meter interface {
	Sample(s gridmesh.Signal, now time.Time) Sample
	// ReadingType is the OpenADR reading type of its reductions.
	ReadingType() string
}

// Bridge is a VEN that turns a VTN's events into signed regional
// signals and reports back. New creates it; Run polls until its context
// ends. Nothing in the mesh waits on it: signals it published run to
// their end whether it lives or not.
type Bridge struct {
	cfg   Config
	api   *oadr3.Client
	pub   Publisher
	meter Meter
	log   *slog.Logger
	now   func() time.Time

	// Owned by the goroutine that calls Poll (Run's).
	published map[string]gridmesh.Signal // last step sent, by signal ID
	seen      map[string]Intent          // intents not yet reported, by signal ID
	programOf map[string]string          // event ID → program ID
	tallies   map[string]Tally           // samples of cuts in force, by signal ID
}

// New validates cfg and builds a bridge that publishes through pub and
// reports what meter says. httpClient carries the transport (nil: the
// default); the OAuth2 token source wraps it.
func New(cfg Config, pub Publisher, meter Meter, httpClient *http.Client, log *slog.Logger) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pub == nil || meter == nil || log == nil {
		return nil, errors.New("openadr: publisher, meter and logger are required")
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	base := strings.TrimSuffix(cfg.VTN, "/")
	cc := clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		TokenURL: cmpOr(cfg.TokenURL, base+"/auth/token"), AuthStyle: oauth2.AuthStyleInParams,
	}
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, httpClient)
	authed := cc.Client(tokenCtx)
	authed.Timeout = cfg.RequestTimeout
	api, err := oadr3.NewClient(base, oadr3.WithHTTPClient(authed))
	if err != nil {
		return nil, fmt.Errorf("openadr: %w", err)
	}
	return &Bridge{
		cfg: cfg, api: api, pub: pub, meter: meter, log: log.With("component", "openadr"), now: time.Now,
		published: map[string]gridmesh.Signal{}, seen: map[string]Intent{}, programOf: map[string]string{},
		tallies: map[string]Tally{},
	}, nil
}

// Run polls the VTN every PollPeriod, the first time at once, until ctx
// ends. A failed poll is logged and the next one tries again.
func (b *Bridge) Run(ctx context.Context) error {
	t := time.NewTicker(b.cfg.PollPeriod)
	defer t.Stop()
	for {
		if err := b.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			b.log.Warn("poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll is one round: fetch the events, publish what changed, sample the
// cuts in force, report the intervals that ended.
func (b *Bridge) Poll(ctx context.Context) error {
	events, err := b.fetchEvents(ctx)
	if err != nil {
		return err
	}
	now := b.now()
	intents, skips := Convert(events, b.cfg.Convert, now)
	for _, s := range skips {
		b.log.Debug("not acted on", "event", s.EventID, "interval", s.Interval, "reason", s.Reason)
	}
	for _, ev := range events {
		b.programOf[deref(ev.Id)] = ev.ProgramID
	}
	for _, in := range intents {
		b.seen[in.SignalID] = in
	}
	errs := b.apply(ctx, Reconcile(intents, b.published, now))
	b.sample(now)
	errs = append(errs, b.report(ctx, now)...)
	Prune(b.published, now)
	return errors.Join(errs...)
}

// apply publishes the steps, keeping each as sent.
func (b *Bridge) apply(ctx context.Context, st Steps) []error {
	var errs []error
	for _, s := range append(st.Publish, st.Withdraw...) {
		sent, err := b.pub.Publish(ctx, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("publish %s: %w", s.ID, err))
			continue
		}
		b.published[s.ID] = sent
		b.log.Info("signal", "id", sent.ID, "amount_w", float64(sent.AmountW), "start_ms", sent.StartMs, "end_ms", sent.EndMs, "seq", sent.Seq)
	}
	return errs
}

// sample asks the meter about every cut in force.
func (b *Bridge) sample(now time.Time) {
	for id, s := range b.published {
		if s.AmountW > 0 && !now.Before(s.Start()) && now.Before(s.End()) {
			b.tallies[id] = b.tallies[id].Add(b.meter.Sample(s, now))
		}
	}
}

// report posts a report on each interval that ended with samples, once,
// and forgets it.
func (b *Bridge) report(ctx context.Context, now time.Time) []error {
	var errs []error
	for id, in := range b.seen {
		if now.Before(in.End) {
			continue
		}
		if t, sampled := b.tallies[id]; sampled {
			r := BuildReport(b.programOf[in.EventID], in, t, b.cfg.ClientName, b.meter.ReadingType())
			if err := b.postReport(ctx, r); err != nil {
				errs = append(errs, err)
				continue // tried again next poll
			}
		}
		delete(b.seen, id)
		delete(b.tallies, id)
	}
	return errs
}
