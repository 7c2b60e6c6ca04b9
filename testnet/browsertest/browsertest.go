// Package browsertest opens pages in a real headless Chromium (Debian's
// chromium package, /usr/bin/chromium) driven over the DevTools protocol
// with chromedp, for the tests of what gridmesh shows people: a home's
// live dashboard and the HTML report of a run.
//
// Chromium is started with its background networking, component
// updates, sync and QUIC off: the machines the tests run on have no
// network beyond loopback, and Chromium's own calls home would be
// refused many at a time. Each browser gets a fresh profile directory.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Paths where Debian and others install Chromium; CHROMIUM overrides.
var candidates = []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}

// ErrNoChromium is returned when no Chromium executable is found.
var ErrNoChromium = errors.New("browsertest: no Chromium found (install Debian's chromium package, or set CHROMIUM)")

// Executable returns the Chromium to run: $CHROMIUM, else the first of
// the usual install paths that exists, else chromium on $PATH.
func Executable() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", ErrNoChromium
}

// Options are the flags every test browser starts with: headless, no
// sandbox (tests run as root), no GPU, and nothing that reaches beyond
// loopback.
func Options(exe, profileDir string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profileDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
}

// New starts a headless Chromium for the test and returns a browsing
// context (one tab); the browser is closed when the test ends. A machine
// without Chromium fails the test with how to install it.
func New(t testing.TB) context.Context {
	t.Helper()
	exe, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), Options(exe, t.TempDir())...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatal(fmt.Errorf("browsertest: start %s: %w", exe, err))
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// Screenshot saves a full-page PNG of the tab to path (an artifact a
// person can look at), creating its directory.
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}
