package framework

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// SignIn completes a `kubectl bindery login` style sign-in at a bindery-backend whose issuer
// shows a login form with the fields username and password (the embedded --dev-oidc issuer):
// bindclient.Login listens on loopback, the browser signs in on the issuer's page and, with pick
// set, picks that Service on the backend's page after onPickPage (if any) has looked at it.
func SignIn(t testing.TB, browser context.Context, backendURL, username, password, pick string, onPickPage func(context.Context)) *bindprotocol.Session {
	t.Helper()
	urls := make(chan string, 1)
	type result struct {
		session *bindprotocol.Session
		err     error
	}
	done := make(chan result, 1)
	go func() {
		s, err := bindclient.Login(Context(t), bindclient.LoginOptions{
			BackendURL: backendURL, SelectService: pick != "", Timeout: 2 * time.Minute,
			OpenBrowser: func(url string) error { urls <- url; return nil },
		})
		done <- result{s, err}
	}()
	var loginURL string
	select {
	case loginURL = <-urls:
	case r := <-done:
		t.Fatalf("the login ended before it opened the browser: %v", r.err)
	}
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	Act(t, ctx, chromedp.Navigate(loginURL))
	EnterCredentials(t, ctx, username, password)
	if pick != "" {
		Act(t, ctx, chromedp.WaitVisible(chromedp.ID("pick-"+pick)))
		if onPickPage != nil {
			onPickPage(ctx)
		}
		Act(t, ctx, chromedp.Click(chromedp.ID("pick-"+pick)))
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("signing in as %s: %v", username, r.err)
	}
	return r.session
}

// EnterCredentials fills in and submits the embedded issuer's login form.
func EnterCredentials(t testing.TB, ctx context.Context, username, password string) {
	t.Helper()
	Act(t, ctx,
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
	)
}

// Act runs browser steps and fails the test with the page's location and text when one fails.
func Act(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		location, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		t.Fatalf("in the browser at %s: %v\npage text:\n%s", location, err, body)
	}
}
