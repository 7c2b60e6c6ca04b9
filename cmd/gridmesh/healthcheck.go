package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheckTimeout bounds one probe. Why 3 s: a home's HTTP handler
// answers /healthz from memory in well under a millisecond; one that has
// not answered in 3 s is as good as down, and the probe must end before
// Docker's HEALTHCHECK timeout (5 s in the Dockerfile) kills it.
const healthcheckTimeout = 3 * time.Second

// healthcheckCmd GETs a home's /healthz and succeeds only on a 2xx answer:
// the container's HEALTHCHECK on a static base image that has no curl.
func healthcheckCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8181", "the home's HTTP address (its home file's http:)")
	timeout := fs.Duration("timeout", healthcheckTimeout, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || fs.NArg() > 0 {
		return usageError{errors.New("want [--addr HOST:PORT] [--timeout D] and nothing else")}
	}
	if err := probeHealth(ctx, "http://"+*addr+"/healthz", *timeout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}

// probeHealth GETs url and returns nil on a 2xx status.
func probeHealth(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health check: %s answered %s: %q", url, resp.Status, body)
	}
	return nil
}
