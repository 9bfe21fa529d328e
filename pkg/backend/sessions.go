package backend

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/seal"
)

// Purposes of sealed values: a value sealed for one never opens as another.
const (
	purposeSession = "session"
	purposeLogin   = "login"
	purposeCLI     = "cli"
	purposeCode    = "code"
	purposeCSRF    = "csrf"
)

// Cookies the backend sets in the browser.
const (
	cookieSession = "bindery_session"
	cookieLogin   = "bindery_login"
	cookieCLI     = "bindery_cli"
)

// Lifetimes of what is not a session.
const (
	loginTTL = 10 * time.Minute // from leaving for the issuer to coming back
	codeTTL  = time.Minute      // from the redirect to the CLI to its token request
)

// session is a signed-in user. ID tells sessions apart, for the CSRF tokens of forms.
type session struct {
	ID   string            `json:"id"`
	User bindprotocol.User `json:"user"`
}

// loginState travels with the browser to the issuer and back (cookieLogin).
type loginState struct {
	State    string      `json:"state"`
	Nonce    string      `json:"nonce"`
	Verifier string      `json:"verifier"`
	CLI      *cliRequest `json:"cli,omitempty"`
}

// cliRequest is a login that a CLI started and waits for on its loopback address.
type cliRequest struct {
	RedirectURI   string `json:"redirectURI"`
	State         string `json:"state"`
	CodeChallenge string `json:"codeChallenge"`
	Select        bool   `json:"select,omitempty"`
}

// oneTimeCode is what the CLI exchanges for a session, with proof it started the login.
type oneTimeCode struct {
	ID            string            `json:"id"`
	User          bindprotocol.User `json:"user"`
	RedirectURI   string            `json:"redirectURI"`
	CodeChallenge string            `json:"codeChallenge"`
	Service       string            `json:"service,omitempty"`
}

// errNoSession means the request carries no session at all.
var errNoSession = errors.New("not signed in")

func randomString() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSession seals a session for u; the token is both the browser's cookie and the CLI's bearer.
func (s *Server) newSession(u bindprotocol.User) (token string, expires time.Time, err error) {
	token, err = s.sealer.Seal(purposeSession, session{ID: randomString(), User: u}, s.opts.SessionDuration)
	return token, time.Now().Add(s.opts.SessionDuration), err
}

// openSession opens a session token and says in words why one is refused.
func (s *Server) openSession(token string) (*session, error) {
	var sess session
	expired, err := s.sealer.Open(purposeSession, token, &sess)
	switch {
	case errors.Is(err, seal.ErrExpired):
		return nil, &apiError{status: http.StatusUnauthorized, reason: bindprotocol.ReasonSessionExpired,
			message: fmt.Sprintf("your session expired at %s; sign in again (kubectl bindery login %s)", expired.UTC().Format(time.RFC3339), s.opts.ExternalURL)}
	case err != nil:
		return nil, &apiError{status: http.StatusUnauthorized, reason: bindprotocol.ReasonUnauthenticated,
			message: fmt.Sprintf("the session is not valid at this backend (issued by another backend, or its session key was replaced); sign in again (kubectl bindery login %s)", s.opts.ExternalURL)}
	}
	return &sess, nil
}

// bearerSession returns the session of an API request's Authorization header.
func (s *Server) bearerSession(r *http.Request) (*session, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return nil, &apiError{status: http.StatusUnauthorized, reason: bindprotocol.ReasonUnauthenticated,
			message: fmt.Sprintf("the request has no session (Authorization: Bearer <token>); sign in with kubectl bindery login %s", s.opts.ExternalURL)}
	}
	return s.openSession(token)
}

// cookieSession returns the browser's session, errNoSession when it has none.
func (s *Server) cookieSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieSession)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	return s.openSession(c.Value)
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(ttl.Seconds()),
		HttpOnly: true,
		Secure:   s.opts.ExternalURL.Scheme == "https",
		// Lax: the cookie comes along when the issuer sends the browser back, not on a
		// cross-site POST (the forms carry a CSRF token as well).
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	s.setCookie(w, name, "", -time.Second)
}

// csrfToken binds a form to the session that rendered it.
func (s *Server) csrfToken(sess *session) string {
	token, err := s.sealer.Seal(purposeCSRF, sess.ID, s.opts.SessionDuration)
	if err != nil {
		return ""
	}
	return token
}

func (s *Server) checkCSRF(sess *session, token string) bool {
	var id string
	_, err := s.sealer.Open(purposeCSRF, token, &id)
	return err == nil && id == sess.ID
}
