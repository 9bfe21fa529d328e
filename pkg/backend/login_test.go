package backend

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/seal"
)

func newTestServer(t *testing.T) *Server {
	t.Helper()
	external, _ := url.Parse("https://bind.example.com")
	s, err := NewServer(ServerOptions{ExternalURL: external, SessionDuration: time.Hour, OIDC: OIDCOptions{IssuerURL: "https://issuer.example"}},
		nil, nil, nil, seal.NewKey(), logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestPKCE(t *testing.T) {
	// RFC 7636, appendix B.
	if !pkceMatches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") {
		t.Error("the RFC's verifier does not match its challenge")
	}
	for _, bad := range []string{"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", "short", ""} {
		if pkceMatches(bad, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") {
			t.Errorf("verifier %q matched", bad)
		}
	}
}

func TestParseCLIRequest(t *testing.T) {
	good := url.Values{
		bindprotocol.ParamRedirectURI: {"http://127.0.0.1:5000/callback"}, bindprotocol.ParamState: {"s"},
		bindprotocol.ParamCodeChallenge: {challengeOf(strings.Repeat("v", 43))}, bindprotocol.ParamCodeChallengeMethod: {"S256"},
	}
	req, err := parseCLIRequest(good)
	if err != nil || req == nil || req.Select {
		t.Fatalf("a good request: %+v, %v", req, err)
	}
	if req, err := parseCLIRequest(url.Values{}); req != nil || err != nil {
		t.Errorf("a browser's own login: %+v, %v; want no CLI request", req, err)
	}
	for param, value := range map[string]string{
		bindprotocol.ParamRedirectURI:         "http://example.com/cb",
		bindprotocol.ParamCodeChallenge:       "short",
		bindprotocol.ParamCodeChallengeMethod: "plain",
		bindprotocol.ParamState:               "",
		bindprotocol.ParamSelect:              "everything",
	} {
		q := url.Values{}
		for k, v := range good {
			q[k] = v
		}
		q.Set(param, value)
		if _, err := parseCLIRequest(q); err == nil || !strings.Contains(err.Error(), param) {
			t.Errorf("%s=%q: %v, want an error naming %s", param, value, err, param)
		}
	}
}

func TestRedeem(t *testing.T) {
	s := newTestServer(t)
	verifier := strings.Repeat("a", 50)
	issue := func() string {
		code, err := s.sealer.Seal(purposeCode, oneTimeCode{ID: randomString(), User: bindprotocol.User{Username: "alice"},
			RedirectURI: "http://127.0.0.1:1/cb", CodeChallenge: challengeOf(verifier)}, codeTTL)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	code := issue()
	for name, req := range map[string]bindprotocol.TokenRequest{
		"wrong verifier":     {Code: code, CodeVerifier: strings.Repeat("b", 50), RedirectURI: "http://127.0.0.1:1/cb"},
		"wrong redirect":     {Code: code, CodeVerifier: verifier, RedirectURI: "http://127.0.0.1:2/cb"},
		"not a code":         {Code: "garbage", CodeVerifier: verifier, RedirectURI: "http://127.0.0.1:1/cb"},
		"a session as code":  {Code: mustSeal(t, s, purposeSession), CodeVerifier: verifier, RedirectURI: "http://127.0.0.1:1/cb"},
		"missing everything": {},
	} {
		if _, err := s.redeem(req); err == nil {
			t.Errorf("%s: redeemed", name)
		}
	}
	ok := bindprotocol.TokenRequest{Code: code, CodeVerifier: verifier, RedirectURI: "http://127.0.0.1:1/cb"}
	got, err := s.redeem(ok)
	if err != nil || got.User.Username != "alice" {
		t.Fatalf("a good code: %+v, %v", got, err)
	}
	if _, err := s.redeem(ok); err == nil || !strings.Contains(err.Error(), "redeemed already") {
		t.Errorf("a code redeemed twice: %v", err)
	}
}

func mustSeal(t *testing.T, s *Server, purpose string) string {
	t.Helper()
	v, err := s.sealer.Seal(purpose, oneTimeCode{}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSessions(t *testing.T) {
	s := newTestServer(t)
	token, _, err := s.newSession(bindprotocol.User{Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.openSession(token)
	if err != nil || sess.User.Username != "alice" || sess.ID == "" {
		t.Fatalf("a fresh session: %+v, %v", sess, err)
	}
	if !s.checkCSRF(sess, s.csrfToken(sess)) {
		t.Error("the session's own CSRF token is refused")
	}
	other, _, _ := s.newSession(bindprotocol.User{Username: "alice"})
	otherSess, _ := s.openSession(other)
	if s.checkCSRF(sess, s.csrfToken(otherSess)) {
		t.Error("another session's CSRF token is accepted")
	}

	s.opts.SessionDuration = -time.Minute
	expired, _, _ := s.newSession(bindprotocol.User{Username: "alice"})
	_, err = s.openSession(expired)
	if apiErr := asAPIError(err); apiErr.reason != bindprotocol.ReasonSessionExpired || apiErr.status != http.StatusUnauthorized {
		t.Errorf("an expired session: %+v", apiErr)
	}
	_, err = s.openSession(mustSeal(t, s, purposeCode))
	if apiErr := asAPIError(err); apiErr.reason != bindprotocol.ReasonUnauthenticated {
		t.Errorf("a code used as a session: %+v", apiErr)
	}
}

func TestDenialNamesThePermission(t *testing.T) {
	msg := (&denial{user: "oidc:carol", service: "databases"}).Error()
	for _, want := range []string{"oidc:carol", `verb "bind"`, `"services"`, "bind.bindery.dev", `"databases"`, "ClusterRole"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the denial %q does not say %s", msg, want)
		}
	}
}

func TestDenialInAWorkspaceNamesItAndAccess(t *testing.T) {
	d := &denial{user: "oidc:carol", service: "databases", workspace: logicalcluster.NewPath("root:team")}
	if msg := d.Error(); !strings.Contains(msg, "kcp workspace root:team") || strings.Contains(msg, `"access"`) {
		t.Errorf("a denial by the workspace's RBAC: %q", msg)
	}
	d.noAccess = true
	if msg := d.Error(); !strings.Contains(msg, `verb "access" on the non-resource URL "/"`) {
		t.Errorf("a denial of a user without access to the workspace: %q", msg)
	}
}
