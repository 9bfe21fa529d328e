package devoidc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
)

// This file is the relying party of the tests: a browser made of net/http with a cookie jar, a
// loopback callback listener, and the token endpoint calls a confidential client makes.

const (
	testClientID     = "bindery-backend"
	testClientSecret = "backend-secret"
)

var (
	alice = User{Username: "alice", Password: "wonderland", Email: "alice@example.org", Name: "Alice Liddell", Groups: []string{"admins", "developers"}}
	bob   = User{Username: "bob", Password: "builder"}
)

// callback is the client's redirect URI: a loopback listener that records what it receives.
type callback struct {
	server *httptest.Server
	mu     sync.Mutex
	hits   []url.Values
}

func newCallback(t *testing.T) *callback {
	t.Helper()
	cb := &callback{}
	cb.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb.mu.Lock()
		cb.hits = append(cb.hits, r.URL.Query())
		cb.mu.Unlock()
		_, _ = io.WriteString(w, "signed in")
	}))
	t.Cleanup(cb.server.Close)
	return cb
}

func (cb *callback) url() string { return cb.server.URL + "/callback" }

// received returns the query of every request the callback has had so far.
func (cb *callback) received() []url.Values {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]url.Values(nil), cb.hits...)
}

// env is a started provider with one client whose redirect URI is a callback.
type env struct {
	server   *Server
	callback *callback
	browser  *http.Client
}

func startEnv(t *testing.T, opts Options) *env {
	t.Helper()
	cb := newCallback(t)
	if opts.Users == nil {
		opts.Users = []User{alice, bob}
	}
	if opts.Clients == nil {
		opts.Clients = []Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{cb.url()}}}
	}
	server, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := server.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return &env{server: server, callback: cb, browser: newBrowser(t, server.CACertPEM())}
}

// newBrowser returns an HTTP client that trusts only the given CA, keeps cookies and follows
// redirects, as a browser does.
func newBrowser(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CACertPEM holds no certificate")
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:       jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// authParams are the parameters of one authorization request.
type authParams struct {
	clientID, redirectURI, scope string
	state, nonce, verifier       string
	// challenge overrides the S256 challenge of verifier; "-" sends none.
	challenge string
}

func (e *env) newAuthParams() authParams {
	return authParams{
		clientID:    testClientID,
		redirectURI: e.callback.url(),
		scope:       "openid email profile groups",
		state:       rand.Text(),
		nonce:       rand.Text(),
		verifier:    rand.Text() + rand.Text(),
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (e *env) authorizeURL(p authParams) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {p.clientID},
		"redirect_uri":  {p.redirectURI},
		"scope":         {p.scope},
		"state":         {p.state},
		"nonce":         {p.nonce},
	}
	switch p.challenge {
	case "":
		q.Set("code_challenge", s256(p.verifier))
		q.Set("code_challenge_method", "S256")
	case "-":
	default:
		q.Set("code_challenge", p.challenge)
		q.Set("code_challenge_method", "S256")
	}
	return e.server.IssuerURL() + "/authorize?" + q.Encode()
}

// page is a fetched HTML page.
type page struct {
	status int
	url    *url.URL
	body   string
}

func (e *env) get(t *testing.T, rawURL string) page {
	t.Helper()
	resp, err := e.browser.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	return readPage(t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", resp.Request.URL, err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
}

// submitLogin fills the login form on p with the credentials and submits it as a browser would:
// every field of the form, to its action, resolved against the page's URL.
func (e *env) submitLogin(t *testing.T, p page, username, password string) page {
	t.Helper()
	doc := parseHTML(t, p)
	form := elementByID(doc, "login-form")
	if form == nil {
		t.Fatalf("no #login-form on %s (status %d):\n%s", p.url, p.status, p.body)
	}
	for _, id := range []string{"username", "password", "login"} {
		if elementByID(form, id) == nil {
			t.Fatalf("the login form has no #%s", id)
		}
	}
	fields := formFields(form)
	fields.Set("username", username)
	fields.Set("password", password)
	action, err := p.url.Parse(attr(form, "action"))
	if err != nil {
		t.Fatalf("form action: %v", err)
	}
	if method := attr(form, "method"); !strings.EqualFold(method, http.MethodPost) {
		t.Fatalf("the login form's method is %q, want post", method)
	}
	resp, err := e.browser.PostForm(action.String(), fields)
	if err != nil {
		t.Fatalf("POST %s: %v", action, err)
	}
	return readPage(t, resp)
}

// signIn runs the browser part of a code flow and returns the code the callback received.
func (e *env) signIn(t *testing.T, p authParams, user User) string {
	t.Helper()
	loginPage := e.get(t, e.authorizeURL(p))
	if loginPage.status != http.StatusOK || loginPage.url.Path != loginPath {
		t.Fatalf("authorize led to %s with status %d, want the login page:\n%s", loginPage.url, loginPage.status, loginPage.body)
	}
	done := e.submitLogin(t, loginPage, user.Username, user.Password)
	if done.status != http.StatusOK || done.url.String() != e.callback.url()+"?"+done.url.RawQuery {
		t.Fatalf("the login ended at %s with status %d, want the callback:\n%s", done.url, done.status, done.body)
	}
	query := done.url.Query()
	if got := query.Get("state"); got != p.state {
		t.Fatalf("callback state = %q, want %q", got, p.state)
	}
	code := query.Get("code")
	if code == "" {
		t.Fatalf("callback got no code: %v", query)
	}
	return code
}

func parseHTML(t *testing.T, p page) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatalf("parsing %s: %v", p.url, err)
	}
	return doc
}

func elementByID(n *html.Node, id string) *html.Node {
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && attr(d, "id") == id {
			return d
		}
	}
	return nil
}

func formFields(form *html.Node) url.Values {
	fields := url.Values{}
	for d := range form.Descendants() {
		if d.Type == html.ElementNode && d.Data == "input" && attr(d, "name") != "" {
			fields.Set(attr(d, "name"), attr(d, "value"))
		}
	}
	return fields
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// tokenResponse is the token endpoint's answer, success or error.
type tokenResponse struct {
	status           int
	AccessToken      string `json:"access_token"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// authStyle is how the client authenticates at the token endpoint.
type authStyle int

const (
	clientSecretBasic authStyle = iota
	clientSecretPost
)

func (s authStyle) String() string {
	return [...]string{"client_secret_basic", "client_secret_post"}[s]
}

// token calls the token endpoint as the test client (with the given secret) and decodes the answer.
func (e *env) token(t *testing.T, style authStyle, secret string, form url.Values) tokenResponse {
	t.Helper()
	if style == clientSecretPost {
		form.Set("client_id", testClientID)
		form.Set("client_secret", secret)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.server.IssuerURL()+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if style == clientSecretBasic {
		req.SetBasicAuth(url.QueryEscape(testClientID), url.QueryEscape(secret))
	}
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("decoding the token response (status %d): %v", resp.StatusCode, err)
	}
	tr.status = resp.StatusCode
	return tr
}

func (e *env) exchangeCode(t *testing.T, style authStyle, code, verifier string) tokenResponse {
	t.Helper()
	return e.token(t, style, testClientSecret, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {e.callback.url()},
		"code_verifier": {verifier},
	})
}

// mustSucceed fails the test unless the token endpoint issued tokens.
func (tr tokenResponse) mustSucceed(t *testing.T) tokenResponse {
	t.Helper()
	if tr.status != http.StatusOK || tr.IDToken == "" {
		t.Fatalf("token endpoint: status %d, error %q: %s", tr.status, tr.Error, tr.ErrorDescription)
	}
	return tr
}

// idClaims are the claims kube-apiserver and bindery-backend read from an ID token.
type idClaims struct {
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
}
