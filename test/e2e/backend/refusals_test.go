package backend

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestRefusals: each kind of bad input gets an answer that says what is wrong and what to do, and
// nothing is created on the provider cluster for it.
func TestRefusals(t *testing.T) {
	backend := startBackend(t)
	p := newProvisioning(t)
	databases := p.databases()
	broken := p.brokenService()
	missing := framework.UniqueName("missing")
	p.waitChecked(databases, metav1.ConditionTrue)
	p.waitChecked(broken, metav1.ConditionFalse)
	// alice may bind all three by RBAC; carol may bind nothing.
	p.grantBind(alice.Username(), databases.Name, broken.Name, missing)
	aliceSession := signIn(t, framework.Browser(t, true), backend.url, alice, "", nil)
	api := apiClient(t, backend.url, aliceSession)

	refused := func(t *testing.T, err error, reason string, words ...string) {
		t.Helper()
		apiErr := apiError(t, err, reason)
		if apiErr.Body.Reason != reason {
			t.Errorf("reason %q, want %q (%s)", apiErr.Body.Reason, reason, apiErr.Body.Message)
		}
		for _, w := range words {
			if !strings.Contains(apiErr.Body.Message, w) {
				t.Errorf("the message %q does not say %q", apiErr.Body.Message, w)
			}
		}
	}
	bindAs := func(t *testing.T, session *bindprotocol.Session, service string) error {
		t.Helper()
		cluster := framework.UniqueName("cluster")
		_, err := apiClient(t, backend.url, session).Bind(framework.Context(t), service, bindprotocol.BindRequest{Cluster: bindprotocol.Cluster{ID: cluster}})
		if created := p.consumersOf(cluster); len(created) != 0 {
			t.Errorf("a refused bind left Consumer %s behind", created[0].Name)
		}
		return err
	}

	t.Run("a user without the bind permission is told which permission is missing", func(t *testing.T) {
		browser := framework.Browser(t, true)
		steps, cancel := context.WithTimeout(browser, time.Minute)
		defer cancel()
		act(t, steps, chromedp.Navigate(backend.url), chromedp.Click(chromedp.ID("sign-in")))
		enterCredentials(t, steps, carol)
		act(t, steps, chromedp.WaitVisible(chromedp.ID("no-services")))
		if page := text(t, steps, "no-services"); !strings.Contains(page, "bind") || !strings.Contains(page, carol.Username()) {
			t.Errorf("the page tells carol %q, want the permission she lacks and her username", page)
		}
		carolSession := signIn(t, browser, backend.url, carol, "", nil)
		refused(t, bindAs(t, carolSession, databases.Name), bindprotocol.ReasonForbidden,
			carol.Username(), `verb "bind"`, `"services"`, "bind.bindery.dev", databases.Name)
	})
	t.Run("an unknown Service", func(t *testing.T) {
		refused(t, bindAs(t, aliceSession, missing), bindprotocol.ReasonServiceNotFound, missing)
	})
	t.Run("a Service whose PublishedResource is invalid names the object and field", func(t *testing.T) {
		refused(t, bindAs(t, aliceSession, broken.Name), bindprotocol.ReasonServiceNotReady, "PublishedResource", "spec.resource", "provider")
	})
	t.Run("a bind without a cluster identity names the field", func(t *testing.T) {
		_, err := api.Bind(framework.Context(t), databases.Name, bindprotocol.BindRequest{})
		refused(t, err, bindprotocol.ReasonInvalidRequest, "cluster.id")
	})
	t.Run("a forged session", func(t *testing.T) {
		forged := *aliceSession
		forged.Token = aliceSession.Token[:len(aliceSession.Token)-4] + "AAAA"
		_, err := apiClient(t, backend.url, &forged).Services(framework.Context(t))
		refused(t, err, bindprotocol.ReasonUnauthenticated, "sign in again", "kubectl bindery login")
		refused(t, bindAs(t, &forged, databases.Name), bindprotocol.ReasonUnauthenticated)
	})
	t.Run("a login that would return anywhere but a loopback address", func(t *testing.T) {
		q := url.Values{
			bindprotocol.ParamRedirectURI:         {"http://attacker.example/callback"},
			bindprotocol.ParamState:               {"s"},
			bindprotocol.ParamCodeChallenge:       {strings.Repeat("a", 43)},
			bindprotocol.ParamCodeChallengeMethod: {bindprotocol.CodeChallengeS256},
		}
		loginURL := backend.url + bindprotocol.LoginPath + "?" + q.Encode()
		resp, err := http.Get(loginURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "loopback") {
			t.Errorf("GET %s: %s, want 400 saying the redirect must be a loopback address", loginURL, resp.Status)
		}
		steps, cancel := context.WithTimeout(framework.Browser(t, true), time.Minute)
		defer cancel()
		act(t, steps, chromedp.Navigate(loginURL), chromedp.WaitVisible(chromedp.ID("error-message")))
		if page := text(t, steps, "error-message"); !strings.Contains(page, "redirect_uri") || !strings.Contains(page, "loopback") {
			t.Errorf("the page says %q, want what is wrong with redirect_uri", page)
		}
	})
}

// TestExpiredSession: an expired session is refused with the advice to sign in again.
func TestExpiredSession(t *testing.T) {
	backend := startBackend(t, "--session-duration", "2s")
	session := signIn(t, framework.Browser(t, true), backend.url, alice, "", nil)
	client := apiClient(t, backend.url, session)
	framework.WaitFor(t, 30*time.Second, "the session to expire", func(ctx context.Context) (bool, string, error) {
		_, err := client.WhoAmI(ctx)
		return err != nil, "still valid", nil
	})
	_, err := client.Services(framework.Context(t))
	apiErr := apiError(t, err, "an expired session")
	if apiErr.Body.Reason != bindprotocol.ReasonSessionExpired || !strings.Contains(apiErr.Body.Message, "kubectl bindery login") {
		t.Errorf("an expired session: %s %q, want SessionExpired with the advice to sign in again", apiErr.Body.Reason, apiErr.Body.Message)
	}
}

// brokenService offers a PublishedResource of a CRD the provider cluster does not have.
func (p *provisioning) brokenService() *bindv1alpha1.Service {
	p.t.Helper()
	label := framework.UniqueName("broken")
	p.create(&syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: label, Labels: map[string]string{"e2e.bindery.dev/service": label}},
		Spec:       syncagentv1alpha1.PublishedResourceSpec{Resource: syncagentv1alpha1.SourceResource{APIGroup: "nowhere.example", Kind: "Ghost"}},
	})
	return p.service(label, "Ghosts")
}
