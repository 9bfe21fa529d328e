package framework

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Browser starts a headless Chromium (Debian's chromium package) for one test and returns a
// chromedp context driving its first tab; the browser is closed when the test ends. The tab
// trusts nothing a normal browser would not, except that it accepts certificates of the test's
// own CAs (ignoreCertificateErrors), since the test servers' CAs are made up at start.
//
// A query for an element that never appears waits forever: bound each step with a context
// derived from the returned one (context.WithTimeout), never the returned one itself, whose end
// stops the browser.
func Browser(t testing.TB, ignoreCertificateErrors bool) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the browser tests need Debian's chromium (apt-get install chromium; .ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		// Chromium's sandbox needs user namespaces, which a root test process does not get.
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	if ignoreCertificateErrors {
		opts = append(opts, chromedp.IgnoreCertErrors)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, so that a missing library fails here and not in the first step.
	// (No timeout on this first call: its context's end would stop the browser.)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}
