package bindclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

const issuedCode = "one-time-code"

// fakeBackend plays bindery-backend's two login endpoints: LoginPath sends the browser back to
// the loopback redirect with the query that redirect builds, and TokenPath hands out a Session
// only for the code it issued, the redirect URI the login started with, and a verifier whose
// S256 challenge the login carried.
type fakeBackend struct {
	*httptest.Server
	redirect func(login url.Values) url.Values

	mu          sync.Mutex
	login       url.Values
	exchanges   int
	tokenAnswer *bindprotocol.Error // when set, the token endpoint refuses with it
}

// sendCode is the happy redirect: the issued code and the login's own state.
func sendCode(login url.Values) url.Values {
	return url.Values{bindprotocol.ParamCode: {issuedCode}, bindprotocol.ParamState: {login.Get(bindprotocol.ParamState)}}
}

func newFakeBackend(t *testing.T, redirect func(login url.Values) url.Values) *fakeBackend {
	b := &fakeBackend{redirect: redirect}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+bindprotocol.LoginPath, b.serveLogin)
	mux.HandleFunc("POST "+bindprotocol.TokenPath, b.serveToken)
	b.Server = httptest.NewServer(mux)
	t.Cleanup(b.Close)
	return b
}

func (b *fakeBackend) serveLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	b.mu.Lock()
	b.login = q
	b.mu.Unlock()
	if q.Get(bindprotocol.ParamCodeChallengeMethod) != bindprotocol.CodeChallengeS256 {
		http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, q.Get(bindprotocol.ParamRedirectURI)+"?"+b.redirect(q).Encode(), http.StatusFound)
}

func (b *fakeBackend) serveToken(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.exchanges++
	var req bindprotocol.TokenRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, bindprotocol.Error{Reason: bindprotocol.ReasonInvalidRequest, Message: err.Error()})
		return
	}
	// The challenge is computed here independently of codeChallengeS256, as the backend would.
	sum := sha256.Sum256([]byte(req.CodeVerifier))
	switch {
	case b.tokenAnswer != nil:
		writeError(w, http.StatusBadRequest, *b.tokenAnswer)
	case req.Code != issuedCode,
		req.RedirectURI != b.login.Get(bindprotocol.ParamRedirectURI),
		base64.RawURLEncoding.EncodeToString(sum[:]) != b.login.Get(bindprotocol.ParamCodeChallenge):
		writeError(w, http.StatusBadRequest, bindprotocol.Error{Reason: bindprotocol.ReasonInvalidCode, Message: "the code, redirect URI or verifier is wrong"})
	default:
		_ = json.NewEncoder(w).Encode(bindprotocol.Session{
			Token:     "session-token",
			ExpiresAt: time.Now().Add(time.Hour),
			User:      bindprotocol.User{Username: "oidc:jane", DisplayName: "Jane Doe"},
		})
	}
}

func writeError(w http.ResponseWriter, status int, e bindprotocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

func (b *fakeBackend) loginQuery() url.Values {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.login
}

func (b *fakeBackend) exchangeCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.exchanges
}

// browser plays the user's browser: it opens a URL, follows the backend's redirect to the
// loopback address and keeps the page it lands on.
type browser struct {
	status int
	page   string
}

func (b *browser) open(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	b.status, b.page = resp.StatusCode, string(body)
	return err
}

func TestLoginExchangesTheCodeWithTheVerifier(t *testing.T) {
	backend := newFakeBackend(t, sendCode)
	var out strings.Builder
	user := &browser{}
	session, err := Login(context.Background(), LoginOptions{BackendURL: backend.URL, OpenBrowser: user.open, Out: &out})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if session.Token != "session-token" || session.User.Username != "oidc:jane" {
		t.Errorf("session = %+v, want the token endpoint's", session)
	}
	if user.status != http.StatusOK || !strings.Contains(user.page, "Signed in") || !strings.Contains(user.page, "close this tab") {
		t.Errorf("browser page %d %q, want the signed-in page", user.status, user.page)
	}
	if !strings.HasPrefix(out.String(), "Opening "+backend.URL+bindprotocol.LoginPath+"?") || !strings.Contains(out.String(), "Ctrl-C to cancel") {
		t.Errorf("progress output %q, want the opening line with the login URL", out.String())
	}
	login := backend.loginQuery()
	redirect, err := url.Parse(login.Get(bindprotocol.ParamRedirectURI))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Path != callbackPath {
		t.Errorf("redirect_uri %q, want http://127.0.0.1:<port>%s", login.Get(bindprotocol.ParamRedirectURI), callbackPath)
	}
	if login.Get(bindprotocol.ParamState) == "" || login.Has(bindprotocol.ParamSelect) {
		t.Errorf("login query %v: want a state and no select", login)
	}
}

func TestLoginAsksForAServicePick(t *testing.T) {
	backend := newFakeBackend(t, func(login url.Values) url.Values {
		q := sendCode(login)
		if login.Get(bindprotocol.ParamSelect) == bindprotocol.SelectService {
			q.Set(bindprotocol.ParamService, "databases")
		}
		return q
	})
	user := &browser{}
	session, err := Login(context.Background(), LoginOptions{BackendURL: backend.URL, SelectService: true, OpenBrowser: user.open})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if session.Service != "databases" {
		t.Errorf("session.Service = %q, want the pick of the redirect", session.Service)
	}
}

func TestLoginRefusesAStateMismatch(t *testing.T) {
	backend := newFakeBackend(t, func(url.Values) url.Values {
		return url.Values{bindprotocol.ParamCode: {issuedCode}, bindprotocol.ParamState: {"someone-elses-state"}}
	})
	user := &browser{}
	_, err := Login(context.Background(), LoginOptions{BackendURL: backend.URL, OpenBrowser: user.open})
	if !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("Login error %v, want ErrStateMismatch", err)
	}
	if user.status != http.StatusBadRequest || !strings.Contains(user.page, "state this sign-in did not send") {
		t.Errorf("browser page %d %q, want the refusal in words", user.status, user.page)
	}
	if n := backend.exchangeCount(); n != 0 {
		t.Errorf("the code was exchanged %d times despite the wrong state", n)
	}
}

func TestLoginSurfacesTheBackendsError(t *testing.T) {
	backend := newFakeBackend(t, func(login url.Values) url.Values {
		return url.Values{
			bindprotocol.ParamState:            {login.Get(bindprotocol.ParamState)},
			bindprotocol.ParamError:            {"access_denied"},
			bindprotocol.ParamErrorDescription: {"you may not bind Services of this provider"},
		}
	})
	user := &browser{}
	_, err := Login(context.Background(), LoginOptions{BackendURL: backend.URL, OpenBrowser: user.open})
	var loginErr *LoginError
	if !errors.As(err, &loginErr) || loginErr.Code != "access_denied" {
		t.Fatalf("Login error %v, want a LoginError with access_denied", err)
	}
	if want := "the sign-in failed: you may not bind Services of this provider (access_denied)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !strings.Contains(user.page, "you may not bind Services of this provider") {
		t.Errorf("browser page %q lacks the backend's description", user.page)
	}
}

func TestLoginReportsARefusedExchange(t *testing.T) {
	backend := newFakeBackend(t, sendCode)
	backend.tokenAnswer = &bindprotocol.Error{Reason: bindprotocol.ReasonInvalidCode, Message: "the code has expired; sign in again"}
	user := &browser{}
	_, err := Login(context.Background(), LoginOptions{BackendURL: backend.URL, OpenBrowser: user.open})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Body.Reason != bindprotocol.ReasonInvalidCode {
		t.Fatalf("Login error %v, want an APIError InvalidCode", err)
	}
	if !strings.Contains(user.page, "the code has expired") {
		t.Errorf("browser page %q lacks the backend's message", user.page)
	}
}

func TestLoginServesOnlyItsCallbackOnce(t *testing.T) {
	backend := newFakeBackend(t, sendCode)
	var other, again *http.Response
	_, err := Login(context.Background(), LoginOptions{BackendURL: backend.URL, OpenBrowser: func(loginURL string) error {
		u, _ := url.Parse(loginURL)
		callback, _ := url.Parse(u.Query().Get(bindprotocol.ParamRedirectURI))
		var err error
		if other, err = http.Get("http://" + callback.Host + "/somewhere-else?code=" + issuedCode); err != nil {
			return err
		}
		other.Body.Close()
		if err := (&browser{}).open(loginURL); err != nil {
			return err
		}
		again, err = http.Get(callback.String() + "?" + sendCode(u.Query()).Encode())
		if err != nil {
			return err
		}
		return again.Body.Close()
	}})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if other.StatusCode != http.StatusNotFound {
		t.Errorf("another path answered %d, want 404", other.StatusCode)
	}
	if again.StatusCode != http.StatusConflict {
		t.Errorf("a second callback answered %d, want 409", again.StatusCode)
	}
	if n := backend.exchangeCount(); n != 1 {
		t.Errorf("%d exchanges, want 1", n)
	}
}

func TestLoginPrintsTheURLAndStopsAtTheTimeout(t *testing.T) {
	backend := newFakeBackend(t, sendCode)
	var out strings.Builder
	_, err := Login(context.Background(), LoginOptions{BackendURL: backend.URL, Out: &out, Timeout: time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "within 1ms") {
		t.Errorf("Login error %v, want the timeout in words", err)
	}
	if !strings.Contains(out.String(), "Open this URL in your browser to sign in:\n\n    "+backend.URL+bindprotocol.LoginPath+"?") {
		t.Errorf("output %q, want the URL to open", out.String())
	}
}

func TestLoginFallsBackToPrintingAndStopsWhenCanceled(t *testing.T) {
	backend := newFakeBackend(t, sendCode)
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	_, err := Login(ctx, LoginOptions{BackendURL: backend.URL, Out: &out, OpenBrowser: func(string) error {
		cancel() // the user presses Ctrl-C
		return errors.New("xdg-open not found")
	}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "sign-in canceled") {
		t.Errorf("Login error %v, want the cancellation", err)
	}
	if !strings.Contains(out.String(), "Could not open a browser (xdg-open not found). Open this URL to sign in:") {
		t.Errorf("output %q, want the fallback to printing", out.String())
	}
}
