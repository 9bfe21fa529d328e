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
	// Chromium now and then dies while it starts on a loaded machine (crashpad reports it); a
	// fresh process is what a person would try too. Three attempts, then the test fails.
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
		// Start the browser now, so that a missing library fails here and not in the first
		// step. (No timeout on this first call: its context's end would stop the browser.)
		if lastErr = chromedp.Do(ctx); lastErr == nil {
			t.Cleanup(func() { cancel(); cancelAlloc() })
			return ctx
		}
		cancel()
		cancelAlloc()
		t.Logf("chromium did not start (attempt %d of 3): %v", attempt, lastErr)
	}
	t.Fatalf("starting chromium: %v", lastErr)
	return nil
}
