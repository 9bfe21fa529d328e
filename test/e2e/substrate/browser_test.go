package substrate

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bindery-dev/bindery/test/framework"
)

// TestBrowserSubmitsAForm proves the browser substrate: Debian's chromium starts headless, loads a
// page over TLS from a test CA, and a form filled in through chromedp reaches the server.
func TestBrowserSubmitsAForm(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodPost {
			fmt.Fprintf(w, `<p id="greeting">Hello, %s</p>`, html.EscapeString(r.PostFormValue("name")))
			return
		}
		fmt.Fprint(w, `<form method="post"><input id="name" name="name"><button id="send" type="submit">Send</button></form>`)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(framework.Browser(t, true), time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL),
		chromedp.SendKeys(chromedp.ID("name"), "Ada"),
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitVisible(chromedp.ID("greeting")),
	); err != nil {
		t.Fatal(err)
	}
	greeting, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("greeting")))
	if err != nil {
		t.Fatal(err)
	}
	if greeting != "Hello, Ada" {
		t.Errorf("the page says %q after the form was sent, want %q", greeting, "Hello, Ada")
	}
}
