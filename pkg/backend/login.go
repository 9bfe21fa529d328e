package backend

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/seal"
)

// login starts a sign-in: it remembers the CLI's request (when there is one) and sends the browser
// to the issuer with a fresh state, nonce and PKCE verifier.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	cli, err := parseCLIRequest(r.URL.Query())
	if err != nil {
		s.log.Info("refused a login", "reason", err.Error())
		s.renderError(w, http.StatusBadRequest, "This sign-in link is not valid", err.Error()+". Start again with kubectl bindery login "+s.opts.ExternalURL.String()+".")
		return
	}
	state := loginState{State: randomString(), Nonce: randomString(), Verifier: randomString() + randomString(), CLI: cli}
	target, err := s.rp.authCodeURL(r.Context(), state.State, state.Nonce, state.Verifier)
	if err != nil {
		s.log.Error(err, "cannot reach the issuer")
		s.renderError(w, http.StatusBadGateway, "Signing in is not possible right now", err.Error()+". Try again in a minute; if it persists, tell the provider.")
		return
	}
	sealed, err := s.sealer.Seal(purposeLogin, state, loginTTL)
	if err != nil {
		s.renderError(w, http.StatusInternalServerError, "Signing in failed", err.Error())
		return
	}
	s.setCookie(w, cookieLogin, sealed, loginTTL)
	http.Redirect(w, r, target, http.StatusFound)
}

// parseCLIRequest reads the CLI's part of a login; nil when the login is the browser's own.
func parseCLIRequest(q url.Values) (*cliRequest, error) {
	redirect := q.Get(bindprotocol.ParamRedirectURI)
	if redirect == "" {
		return nil, nil
	}
	if _, err := checkLoopbackRedirect(redirect); err != nil {
		return nil, err
	}
	challenge := q.Get(bindprotocol.ParamCodeChallenge)
	if len(challenge) != 43 {
		return nil, fmt.Errorf("%s must be the base64url SHA-256 of a PKCE verifier (43 characters)", bindprotocol.ParamCodeChallenge)
	}
	if m := q.Get(bindprotocol.ParamCodeChallengeMethod); m != bindprotocol.CodeChallengeS256 {
		return nil, fmt.Errorf("%s %q is not supported; use %s", bindprotocol.ParamCodeChallengeMethod, m, bindprotocol.CodeChallengeS256)
	}
	state := q.Get(bindprotocol.ParamState)
	if state == "" {
		return nil, fmt.Errorf("%s is missing", bindprotocol.ParamState)
	}
	sel := q.Get(bindprotocol.ParamSelect)
	if sel != "" && sel != bindprotocol.SelectService {
		return nil, fmt.Errorf("%s %q is not supported; use %s", bindprotocol.ParamSelect, sel, bindprotocol.SelectService)
	}
	return &cliRequest{RedirectURI: redirect, State: state, CodeChallenge: challenge, Select: sel != ""}, nil
}

// callback is where the issuer sends the browser back: it checks state and nonce, redeems the
// code, starts the session and returns to the CLI or the page.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	state, err := s.loginInProgress(r)
	if err != nil {
		s.log.Info("refused a sign-in callback", "reason", err.Error())
		s.renderError(w, http.StatusBadRequest, "Signing in failed", err.Error())
		return
	}
	s.clearCookie(w, cookieLogin)
	claims, err := s.rp.exchange(r.Context(), r.URL.Query().Get("code"), state.Nonce, state.Verifier)
	if err != nil {
		s.log.Info("refused a sign-in", "reason", err.Error())
		s.failLogin(w, r, state.CLI, http.StatusUnauthorized, err.Error()+"; start again")
		return
	}
	user, err := s.opts.OIDC.Claims.User(s.opts.OIDC.IssuerURL, claims)
	if err != nil {
		s.log.Info("refused a sign-in", "subject", claims["sub"], "reason", err.Error())
		s.failLogin(w, r, state.CLI, http.StatusForbidden, err.Error())
		return
	}
	token, _, err := s.newSession(user)
	if err != nil {
		s.failLogin(w, r, state.CLI, http.StatusInternalServerError, err.Error())
		return
	}
	s.log.Info("signed in", "user", user.Username, "subject", user.Subject, "cli", state.CLI != nil)
	s.setCookie(w, cookieSession, token, s.opts.SessionDuration)
	switch {
	case state.CLI == nil:
		http.Redirect(w, r, "/", http.StatusFound)
	case state.CLI.Select:
		s.keepCLIRequest(w, state.CLI)
		http.Redirect(w, r, "/", http.StatusFound)
	default:
		s.returnToCLI(w, r, state.CLI, user, "")
	}
}

// failLogin tells the CLI waiting on its loopback address, if there is one, why the sign-in
// failed (it shows the message in the browser and in the terminal); otherwise the page does.
func (s *Server) failLogin(w http.ResponseWriter, r *http.Request, cli *cliRequest, status int, message string) {
	if cli == nil {
		s.renderError(w, status, "Signing in failed", message)
		return
	}
	target, _ := url.Parse(cli.RedirectURI) // checked when the login started
	q := target.Query()
	q.Set(bindprotocol.ParamError, "access_denied")
	q.Set(bindprotocol.ParamErrorDescription, message)
	q.Set(bindprotocol.ParamState, cli.State)
	target.RawQuery = q.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// loginInProgress opens the login cookie and checks the issuer's state against it.
func (s *Server) loginInProgress(r *http.Request) (*loginState, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("the sign-in provider refused: %s %s", e, q.Get("error_description"))
	}
	c, err := r.Cookie(cookieLogin)
	if err != nil {
		return nil, errors.New("this browser has no sign-in in progress here (it took longer than 10 minutes, or cookies are blocked); start again")
	}
	var state loginState
	if _, err := s.sealer.Open(purposeLogin, c.Value, &state); err != nil {
		return nil, fmt.Errorf("the sign-in in progress is %v; start again", err)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state.State)) != 1 {
		return nil, errors.New("the sign-in provider answered a different sign-in than this browser started (state mismatch); start again")
	}
	return &state, nil
}

func (s *Server) keepCLIRequest(w http.ResponseWriter, cli *cliRequest) {
	sealed, err := s.sealer.Seal(purposeCLI, cli, loginTTL)
	if err == nil {
		s.setCookie(w, cookieCLI, sealed, loginTTL)
	}
}

// pendingCLI returns the CLI login waiting for a Service pick, if any.
func (s *Server) pendingCLI(r *http.Request) *cliRequest {
	c, err := r.Cookie(cookieCLI)
	if err != nil {
		return nil
	}
	var cli cliRequest
	if _, err := s.sealer.Open(purposeCLI, c.Value, &cli); err != nil {
		return nil
	}
	return &cli
}

// returnToCLI redirects the browser to the CLI's loopback address with a one-time code.
func (s *Server) returnToCLI(w http.ResponseWriter, r *http.Request, cli *cliRequest, user bindprotocol.User, service string) {
	code, err := s.sealer.Seal(purposeCode, oneTimeCode{ID: randomString(), User: user, RedirectURI: cli.RedirectURI,
		CodeChallenge: cli.CodeChallenge, Service: service}, codeTTL)
	if err != nil {
		s.renderError(w, http.StatusInternalServerError, "Signing in failed", err.Error())
		return
	}
	target, _ := url.Parse(cli.RedirectURI) // checked when the login started
	q := target.Query()
	q.Set(bindprotocol.ParamCode, code)
	q.Set(bindprotocol.ParamState, cli.State)
	if service != "" {
		q.Set(bindprotocol.ParamService, service)
	}
	target.RawQuery = q.Encode()
	s.clearCookie(w, cookieCLI)
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// token redeems a one-time code for a session, given the PKCE verifier of the login's challenge.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var req bindprotocol.TokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.writeAPIError(w, r, &apiError{status: http.StatusBadRequest, reason: bindprotocol.ReasonInvalidRequest, message: "the body is not a JSON TokenRequest: " + err.Error()}, "")
		return
	}
	code, err := s.redeem(req)
	if err != nil {
		s.writeAPIError(w, r, err, "")
		return
	}
	token, expires, err := s.newSession(code.User)
	if err != nil {
		s.writeAPIError(w, r, err, code.User.Username)
		return
	}
	s.log.Info("issued a CLI session", "user", code.User.Username, "expires", expires)
	writeJSON(w, http.StatusOK, bindprotocol.Session{Token: token, ExpiresAt: expires, User: code.User, Service: code.Service})
}

func (s *Server) redeem(req bindprotocol.TokenRequest) (*oneTimeCode, error) {
	invalid := func(field, msg string) error {
		return &apiError{status: http.StatusBadRequest, reason: bindprotocol.ReasonInvalidCode, field: field, message: msg + "; sign in again"}
	}
	var code oneTimeCode
	expires, err := s.sealer.Open(purposeCode, req.Code, &code)
	switch {
	case errors.Is(err, seal.ErrExpired):
		return nil, invalid("code", "the code expired (it is valid for a minute)")
	case err != nil:
		return nil, invalid("code", "the code was not issued by this backend")
	case req.RedirectURI != code.RedirectURI:
		return nil, invalid("redirectURI", "redirectURI is not the one the sign-in started with")
	case !pkceMatches(req.CodeVerifier, code.CodeChallenge):
		return nil, invalid("codeVerifier", "codeVerifier does not match the sign-in's code_challenge")
	case !s.used.redeem(code.ID, expires):
		return nil, invalid("code", "the code was redeemed already")
	}
	return &code, nil
}

// pkceMatches checks a verifier against an S256 challenge (RFC 7636, section 4.6).
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// logout ends the browser's session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{cookieSession, cookieCLI, cookieLogin} {
		s.clearCookie(w, name)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
