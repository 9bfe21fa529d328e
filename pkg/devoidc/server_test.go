package devoidc

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// verifyIDToken verifies an ID token as a relying party does: discovery and JWKS fetched from the
// issuer over TLS, signature (RS256 only), issuer, audience and expiry.
func (e *env) verifyIDToken(t *testing.T, raw string) *oidc.IDToken {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), e.browser)
	provider, err := oidc.NewProvider(ctx, e.server.IssuerURL())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: testClientID, SupportedSigningAlgs: []string{oidc.RS256}})
	token, err := verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verifying the ID token: %v", err)
	}
	return token
}

func claimsOf(t *testing.T, token *oidc.IDToken) idClaims {
	t.Helper()
	var c idClaims
	if err := token.Claims(&c); err != nil {
		t.Fatalf("decoding the ID token's claims: %v", err)
	}
	return c
}

func TestCodeFlow(t *testing.T) {
	e := startEnv(t, Options{})
	for _, style := range []authStyle{clientSecretBasic, clientSecretPost} {
		t.Run(style.String(), func(t *testing.T) {
			p := e.newAuthParams()
			code := e.signIn(t, p, alice)
			tokens := e.exchangeCode(t, style, code, p.verifier).mustSucceed(t)

			idToken := e.verifyIDToken(t, tokens.IDToken)
			if idToken.Issuer != e.server.IssuerURL() || !slices.Equal(idToken.Audience, []string{testClientID}) {
				t.Errorf("iss %q aud %q, want %q and [%s]", idToken.Issuer, idToken.Audience, e.server.IssuerURL(), testClientID)
			}
			if idToken.Subject != alice.Subject() {
				t.Errorf("sub = %q, want %q", idToken.Subject, alice.Subject())
			}
			if idToken.Nonce != p.nonce {
				t.Errorf("nonce = %q, want %q", idToken.Nonce, p.nonce)
			}
			if lifetime := idToken.Expiry.Sub(idToken.IssuedAt); lifetime != time.Hour {
				t.Errorf("exp - iat = %s, want 1h", lifetime)
			}
			want := idClaims{Email: alice.Email, EmailVerified: true, Name: alice.Name, PreferredUsername: "alice", Groups: alice.Groups}
			if got := claimsOf(t, idToken); !equalClaims(got, want) {
				t.Errorf("claims = %+v, want %+v", got, want)
			}
		})
	}
}

func equalClaims(a, b idClaims) bool {
	return a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.Name == b.Name &&
		a.PreferredUsername == b.PreferredUsername && slices.Equal(a.Groups, b.Groups)
}

// A user without email, name or groups gets the defaults; claims appear only for the scopes asked.
func TestClaimsFollowScopesAndDefaults(t *testing.T) {
	e := startEnv(t, Options{})
	tests := []struct {
		scope string
		want  idClaims
	}{
		{"openid email profile groups", idClaims{Email: "bob@example.com", EmailVerified: true, Name: "bob", PreferredUsername: "bob", Groups: []string{}}},
		{"openid email", idClaims{Email: "bob@example.com", EmailVerified: true}},
		{"openid", idClaims{}},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			p := e.newAuthParams()
			p.scope = tt.scope
			code := e.signIn(t, p, bob)
			tokens := e.exchangeCode(t, clientSecretBasic, code, p.verifier).mustSucceed(t)
			got := claimsOf(t, e.verifyIDToken(t, tokens.IDToken))
			if !equalClaims(got, tt.want) || (got.Groups == nil) != (tt.want.Groups == nil) {
				t.Errorf("claims = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestUserinfo(t *testing.T) {
	e := startEnv(t, Options{})
	p := e.newAuthParams()
	tokens := e.exchangeCode(t, clientSecretBasic, e.signIn(t, p, alice), p.verifier).mustSucceed(t)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.server.IssuerURL()+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		Subject string `json:"sub"`
		idClaims
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("decoding userinfo (status %d): %v", resp.StatusCode, err)
	}
	if info.Subject != alice.Subject() || info.Email != alice.Email || !slices.Equal(info.Groups, alice.Groups) {
		t.Errorf("userinfo = %+v, want alice's subject, email and groups", info)
	}
}

func TestWrongPasswordShowsErrorAndIssuesNoCode(t *testing.T) {
	e := startEnv(t, Options{})
	p := e.newAuthParams()
	loginPage := e.get(t, e.authorizeURL(p))

	for _, attempt := range []struct{ username, password string }{
		{"alice", "not-her-password"},
		{"nobody", alice.Password},
	} {
		failed := e.submitLogin(t, loginPage, attempt.username, attempt.password)
		if failed.status != http.StatusUnauthorized || failed.url.Path != loginPath {
			t.Fatalf("%s: ended at %s with status %d, want the login page with 401", attempt.username, failed.url, failed.status)
		}
		errorText := elementByID(parseHTML(t, failed), "error")
		if errorText == nil || textOf(errorText) != "Wrong username or password." {
			t.Fatalf("%s: no #error saying %q on the page:\n%s", attempt.username, msgWrongCredentials, failed.body)
		}
		if hits := e.callback.received(); len(hits) != 0 {
			t.Fatalf("%s: the callback was called after a failed login: %v", attempt.username, hits)
		}
		loginPage = failed
	}

	// The form shown with the error still belongs to the same request: the right password works.
	done := e.submitLogin(t, loginPage, alice.Username, alice.Password)
	if done.url.Query().Get("code") == "" || done.url.Query().Get("state") != p.state {
		t.Fatalf("after the right password: ended at %s, want the callback with a code", done.url)
	}
}

func TestLoginPageRefusesUnknownRequest(t *testing.T) {
	e := startEnv(t, Options{})
	got := e.get(t, e.server.IssuerURL()+loginURL("made-up"))
	if got.status != http.StatusBadRequest || !strings.Contains(got.body, "unknown or has expired") {
		t.Fatalf("status %d, body:\n%s\nwant 400 saying the request is unknown", got.status, got.body)
	}
	if elementByID(parseHTML(t, got), "login-form") != nil {
		t.Fatal("the page offers a login form for an unknown request")
	}
}

// An authorization request for an unknown client or an unregistered redirect URI is refused on
// the provider's own page: the browser is never sent to the redirect URI it asked for.
func TestAuthorizeRefusesUnknownClientAndRedirectURI(t *testing.T) {
	e := startEnv(t, Options{})
	tests := map[string]func(*authParams){
		"unknown client":                 func(p *authParams) { p.clientID = "stranger" },
		"redirect URI with another path": func(p *authParams) { p.redirectURI = e.callback.server.URL + "/elsewhere" },
		"redirect URI on another host":   func(p *authParams) { p.redirectURI = "https://attacker.example/callback" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			p := e.newAuthParams()
			mutate(&p)
			got := e.get(t, e.authorizeURL(p))
			if got.status != http.StatusBadRequest || got.url.Path != "/authorize" {
				t.Fatalf("ended at %s with status %d, want a 400 on /authorize:\n%s", got.url, got.status, got.body)
			}
			if hits := e.callback.received(); len(hits) != 0 {
				t.Fatalf("the callback was called: %v", hits)
			}
		})
	}
}

func TestAuthorizeRequiresPKCE(t *testing.T) {
	e := startEnv(t, Options{})
	p := e.newAuthParams()
	p.challenge = "-"
	got := e.get(t, e.authorizeURL(p))
	query := got.url.Query()
	if got.url.Path != "/callback" || query.Get("error") != "invalid_request" || query.Has("code") {
		t.Fatalf("ended at %s, want the callback with error=invalid_request and no code", got.url)
	}
	if !strings.Contains(query.Get("error_description"), "PKCE") {
		t.Errorf("error_description %q does not name PKCE", query.Get("error_description"))
	}
}

func TestCodeExchangeFailures(t *testing.T) {
	e := startEnv(t, Options{})
	tests := []struct {
		name      string
		exchange  func(t *testing.T, code, verifier string) tokenResponse
		wantError string
	}{{
		name: "PKCE verifier mismatch",
		exchange: func(t *testing.T, code, _ string) tokenResponse {
			return e.exchangeCode(t, clientSecretBasic, code, "another-verifier-another-verifier-another-verifier")
		},
		wantError: "invalid_grant",
	}, {
		name: "no PKCE verifier",
		exchange: func(t *testing.T, code, _ string) tokenResponse {
			return e.exchangeCode(t, clientSecretBasic, code, "")
		},
		wantError: "invalid_request",
	}, {
		name: "wrong client secret",
		exchange: func(t *testing.T, code, verifier string) tokenResponse {
			return e.token(t, clientSecretPost, "wrong", url.Values{
				"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {e.callback.url()}, "code_verifier": {verifier},
			})
		},
		wantError: "invalid_client",
	}, {
		name: "code used twice",
		exchange: func(t *testing.T, code, verifier string) tokenResponse {
			e.exchangeCode(t, clientSecretBasic, code, verifier).mustSucceed(t)
			return e.exchangeCode(t, clientSecretBasic, code, verifier)
		},
		wantError: "invalid_grant",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.newAuthParams()
			got := tt.exchange(t, e.signIn(t, p, alice), p.verifier)
			if got.status < 400 || got.Error != tt.wantError || got.IDToken != "" {
				t.Fatalf("status %d, error %q (%s), id token %t; want an error %q and no token",
					got.status, got.Error, got.ErrorDescription, got.IDToken != "", tt.wantError)
			}
		})
	}
}

func TestRefreshTokenRotates(t *testing.T) {
	e := startEnv(t, Options{})
	p := e.newAuthParams()
	p.scope += " offline_access"
	first := e.exchangeCode(t, clientSecretBasic, e.signIn(t, p, alice), p.verifier).mustSucceed(t)
	if first.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}

	second := e.token(t, clientSecretPost, testClientSecret, refresh).mustSucceed(t)
	if got := claimsOf(t, e.verifyIDToken(t, second.IDToken)); !slices.Equal(got.Groups, alice.Groups) {
		t.Errorf("refreshed ID token groups = %q, want %q", got.Groups, alice.Groups)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Errorf("the refresh did not rotate the refresh token")
	}
	reused := e.token(t, clientSecretPost, testClientSecret, refresh)
	if reused.Error != "invalid_grant" {
		t.Errorf("reusing a redeemed refresh token: status %d error %q, want invalid_grant", reused.status, reused.Error)
	}
}

func TestDiscovery(t *testing.T) {
	e := startEnv(t, Options{})
	resp, err := e.browser.Get(e.server.IssuerURL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer           string   `json:"issuer"`
		JWKSURI          string   `json:"jwks_uri"`
		AuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
		ChallengeMethods []string `json:"code_challenge_methods_supported"`
		SigningAlgs      []string `json:"id_token_signing_alg_values_supported"`
		Scopes           []string `json:"scopes_supported"`
		Claims           []string `json:"claims_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decoding discovery (status %d): %v", resp.StatusCode, err)
	}
	checks := []struct {
		what string
		list []string
		want []string
	}{
		{"token endpoint auth methods", doc.AuthMethods, []string{"client_secret_basic", "client_secret_post"}},
		{"code challenge methods", doc.ChallengeMethods, []string{"S256"}},
		{"ID token signing algorithms", doc.SigningAlgs, []string{"RS256"}},
		{"scopes", doc.Scopes, []string{"openid", "email", "profile", "groups"}},
		{"claims", doc.Claims, []string{"email", "email_verified", "name", "groups"}},
	}
	for _, c := range checks {
		for _, w := range c.want {
			if !slices.Contains(c.list, w) {
				t.Errorf("%s %q lack %q", c.what, c.list, w)
			}
		}
	}
	if doc.Issuer != e.server.IssuerURL() || !strings.HasPrefix(doc.JWKSURI, "https://127.0.0.1:") {
		t.Errorf("issuer %q, jwks_uri %q: want %q and an https loopback URL", doc.Issuer, doc.JWKSURI, e.server.IssuerURL())
	}
}

// With a CertDir, a restart on the same address keeps the CA and the signing key: a client's trust
// and an ID token issued before the restart both stay valid.
func TestCertDirKeepsTokensValidAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := startEnv(t, Options{CertDir: dir})
	p := e.newAuthParams()
	before := e.exchangeCode(t, clientSecretBasic, e.signIn(t, p, alice), p.verifier).mustSucceed(t)
	if err := e.server.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	_, port, err := net.SplitHostPort(strings.TrimPrefix(e.server.IssuerURL(), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	restarted, err := Start(t.Context(), Options{
		Address: net.JoinHostPort("127.0.0.1", port),
		CertDir: dir,
		Users:   []User{alice},
		Clients: []Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{e.callback.url()}}},
	})
	if err != nil {
		t.Fatalf("restarting: %v", err)
	}
	t.Cleanup(func() { _ = restarted.Stop() })
	if string(restarted.CACertPEM()) != string(e.server.CACertPEM()) {
		t.Fatal("the restarted server has another CA")
	}

	// The old browser trusts the old CA; a verifier built anew fetches the restarted server's keys.
	e.server = restarted
	idToken := e.verifyIDToken(t, before.IDToken)
	if idToken.Subject != alice.Subject() {
		t.Errorf("sub = %q, want %q", idToken.Subject, alice.Subject())
	}
	for _, name := range []string{caKeyFile, signingKeyFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("the cert dir lacks %s: %v", name, err)
		} else if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (readable by its owner only)", name, perm)
		}
	}
}

func TestStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	server, err := Start(ctx, Options{
		Users:   []User{alice},
		Clients: []Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{"http://127.0.0.1:1/callback"}}},
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	cancel()
	select {
	case <-server.served:
	case <-time.After(10 * time.Second):
		t.Fatal("the server still serves 10s after its context ended")
	}
	if err := server.Stop(); err != nil {
		t.Errorf("Stop after the context ended: %v", err)
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(server.IssuerURL(), "https://")); err == nil {
		conn.Close()
		t.Fatal("the listener still accepts connections")
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	client := Client{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{"http://127.0.0.1:1/callback"}}
	tests := map[string]struct {
		opts Options
		want string
	}{
		"no users":            {Options{Clients: []Client{client}}, "no users"},
		"no clients":          {Options{Users: []User{alice}}, "no clients"},
		"client without URIs": {Options{Users: []User{alice}, Clients: []Client{{ID: "c", Secret: "s"}}}, `client 1 "c": no redirect URIs`},
		"relative URI":        {Options{Users: []User{alice}, Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{"/cb"}}}}, `redirect URI "/cb" is not an absolute URL`},
		"public client":       {Options{Users: []User{alice}, Clients: []Client{{ID: "c", RedirectURIs: []string{"http://x/cb"}}}}, "secret is empty"},
		"duplicate client":    {Options{Users: []User{alice}, Clients: []Client{client, client}}, "appears more than once"},
		"bad listen address":  {Options{Address: "127.0.0.1:notaport", Users: []User{alice}, Clients: []Client{client}}, "listening on 127.0.0.1:notaport"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			server, err := Start(t.Context(), tt.opts)
			if err == nil {
				_ = server.Stop()
				t.Fatalf("Start succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
