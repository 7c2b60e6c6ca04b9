package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gridmesh/gridmesh/testnet/browsertest"
)

// The browser runs the page's script: the text a script writes is what
// the test reads back, and a screenshot of it is written.
func TestBrowserRunsThePagesScript(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!doctype html><p id="out"></p><script>document.getElementById("out").textContent = String(6*7)</script>`)
	}))
	defer srv.Close()
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("out")))
	if err != nil {
		t.Fatal(err)
	}
	if got != "42" {
		t.Fatalf("script wrote %q, want 42", got)
	}
	shot := filepath.Join(t.TempDir(), "page.png")
	if err := browsertest.Screenshot(ctx, shot); err != nil {
		t.Fatal(err)
	}
}
