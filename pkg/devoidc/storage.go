package devoidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	// authRequestLifetime is how long a user has to sign in and the client to redeem its code.
	authRequestLifetime = 10 * time.Minute
	// accessTokenLifetime matches the ID token's, so both tell the client the same.
	accessTokenLifetime = idTokenLifetime
	// refreshTokenLifetime bounds a development session without forcing a login every hour.
	refreshTokenLifetime = 24 * time.Hour
	// claimGroups is the ID token claim that lists the user's groups.
	claimGroups = "groups"
)

// errPKCERequired refuses an authorization request without an S256 code challenge: the relying
// parties this provider serves all use PKCE, and a test of one that forgot it should fail here.
var errPKCERequired = oidc.ErrInvalidRequest().WithDescription("PKCE is required: send a code_challenge with code_challenge_method=S256")

// storage is the provider's whole state, in memory: the configured users and clients, the
// signing key, and the requests and tokens in flight. A restart forgets requests and tokens, but
// ID tokens stay verifiable as long as the signing key is kept (Options.CertDir).
type storage struct {
	users    map[string]User // by username
	subjects map[string]User // by subject
	clients  map[string]Client
	signing  *signingKey

	mu            sync.Mutex
	authRequests  map[string]*authRequest
	codes         map[string]string // code -> auth request id
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken // by the token itself
}

type accessToken struct {
	grant
	expiresAt time.Time
}

type refreshToken struct {
	grant
	accessTokenID string
	expiresAt     time.Time
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func newStorage(users []User, clients []Client, signing *signingKey) *storage {
	s := &storage{
		users:         make(map[string]User, len(users)),
		subjects:      make(map[string]User, len(users)),
		clients:       make(map[string]Client, len(clients)),
		signing:       signing,
		authRequests:  map[string]*authRequest{},
		codes:         map[string]string{},
		accessTokens:  map[string]*accessToken{},
		refreshTokens: map[string]*refreshToken{},
	}
	for _, u := range users {
		u = u.withDefaults()
		s.users[u.Username] = u
		s.subjects[u.Subject()] = u
	}
	for _, c := range clients {
		s.clients[c.ID] = c
	}
	return s
}

// --- authorization requests and the login ---

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, errPKCERequired
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	r := newAuthRequest(rand.Text(), req, now)
	s.authRequests[r.id] = r
	return r.clone(), nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.authRequestLocked(id)
	if err != nil {
		return nil, err
	}
	return r.clone(), nil
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errors.New("unknown or already redeemed code")
	}
	r, err := s.authRequestLocked(id)
	if err != nil {
		return nil, err
	}
	return r.clone(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.authRequestLocked(id)
	if err != nil {
		return err
	}
	r.code = code
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code is redeemed, which makes the code single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteAuthRequestLocked(id)
	return nil
}

// authRequestLocked returns a pending authorization request; an expired one is dropped.
func (s *storage) authRequestLocked(id string) (*authRequest, error) {
	r, ok := s.authRequests[id]
	if !ok {
		return nil, fmt.Errorf("authorization request %q is unknown", id)
	}
	if time.Since(r.createdAt) > authRequestLifetime {
		s.deleteAuthRequestLocked(id)
		return nil, fmt.Errorf("authorization request %q has expired", id)
	}
	return r, nil
}

func (s *storage) deleteAuthRequestLocked(id string) {
	if r, ok := s.authRequests[id]; ok && r.code != "" {
		delete(s.codes, r.code)
	}
	delete(s.authRequests, id)
}

// pendingLogin reports whether an authorization request waits for a login, so that the login page
// can refuse a stale or made-up id before asking for a password.
func (s *storage) pendingLogin(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.authRequestLocked(id)
	if err != nil {
		return err
	}
	if r.done {
		return fmt.Errorf("authorization request %q is already signed in", id)
	}
	return nil
}

// checkPassword returns the user with that username and password. Both comparisons take the same
// time whether or not the username exists, so the page does not tell which of the two was wrong.
func (s *storage) checkPassword(username, password string) (User, bool) {
	user, known := s.users[username]
	matches := subtle.ConstantTimeCompare([]byte(user.Password), []byte(password)) == 1
	return user, known && matches
}

// completeLogin marks an authorization request as signed in by the user with subject.
func (s *storage) completeLogin(id, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.authRequestLocked(id)
	if err != nil {
		return err
	}
	r.subject, r.authTime, r.done = subject, time.Now(), true
	return nil
}

// pruneLocked drops what has expired, so that a long-running development server does not grow.
func (s *storage) pruneLocked(now time.Time) {
	for id, r := range s.authRequests {
		if now.Sub(r.createdAt) > authRequestLifetime {
			s.deleteAuthRequestLocked(id)
		}
	}
	for id, t := range s.accessTokens {
		if now.After(t.expiresAt) {
			delete(s.accessTokens, id)
		}
	}
	for token, t := range s.refreshTokens {
		if now.After(t.expiresAt) {
			delete(s.refreshTokens, token)
		}
	}
}

// --- tokens ---

func (s *storage) CreateAccessToken(_ context.Context, request op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, expiresAt := s.newAccessTokenLocked(grantOf(request))
	return id, expiresAt, nil
}

// CreateAccessAndRefreshTokens issues a new pair; redeeming a refresh token replaces it (rotation),
// so a refresh token works once.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, request op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if current != "" {
		old, ok := s.refreshTokens[current]
		if !ok {
			return "", "", time.Time{}, errors.New("refresh token is unknown or already used")
		}
		delete(s.accessTokens, old.accessTokenID)
		delete(s.refreshTokens, current)
	}
	g := grantOf(request)
	accessID, expiresAt := s.newAccessTokenLocked(g)
	token := rand.Text()
	s.refreshTokens[token] = &refreshToken{grant: g, accessTokenID: accessID, expiresAt: time.Now().Add(refreshTokenLifetime)}
	return accessID, token, expiresAt, nil
}

func (s *storage) newAccessTokenLocked(g grant) (string, time.Time) {
	id := rand.Text()
	expiresAt := time.Now().Add(accessTokenLifetime)
	s.accessTokens[id] = &accessToken{grant: g, expiresAt: expiresAt}
	return id, expiresAt
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refreshTokens[token]
	if !ok || time.Now().After(t.expiresAt) {
		return nil, errors.New("refresh token is unknown, used or expired")
	}
	g := t.grant
	g.scopes = slices.Clone(g.scopes)
	return &refreshTokenRequest{grant: g}, nil
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refreshTokens[token]
	if !ok || t.clientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.subject, token, nil
}

// RevokeToken revokes a refresh token (with the access token it issued) or an access token. A
// token that is unknown, or another client's, is no error (RFC 7009, section 2.2).
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.refreshTokens[tokenOrID]; ok && t.clientID == clientID {
		delete(s.accessTokens, t.accessTokenID)
		delete(s.refreshTokens, tokenOrID)
		return nil
	}
	if t, ok := s.accessTokens[tokenOrID]; ok && t.clientID == clientID {
		delete(s.accessTokens, tokenOrID)
	}
	return nil
}

// TerminateSession ends every token of the user at the client (end_session).
func (s *storage) TerminateSession(_ context.Context, subject, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.accessTokens {
		if t.subject == subject && t.clientID == clientID {
			delete(s.accessTokens, id)
		}
	}
	for token, t := range s.refreshTokens {
		if t.subject == subject && t.clientID == clientID {
			delete(s.refreshTokens, token)
		}
	}
	return nil
}

// --- keys ---

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.signing, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.signing.SignatureAlgorithm()}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{s.signing.public()}, nil
}

// --- clients and claims ---

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("client %q is not registered", clientID)
	}
	return opClient{c}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	c, ok := s.clients[clientID]
	if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return fmt.Errorf("client %q: unknown client or wrong secret", clientID)
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the op package; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the claims of the ID token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, request op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, request.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	t, err := s.liveAccessToken(tokenID)
	if err != nil {
		return err
	}
	return s.setUserinfo(info, t.subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	t, err := s.liveAccessToken(tokenID)
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, t.subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Active = true
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Audience = []string{t.clientID}
	resp.Expiration = oidc.FromTime(t.expiresAt)
	return nil
}

func (s *storage) liveAccessToken(id string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.accessTokens[id]
	if !ok || time.Now().After(t.expiresAt) {
		return accessToken{}, errors.New("access token is unknown, revoked or expired")
	}
	return *t, nil
}

// setUserinfo writes the claims that the scopes ask for: profile gives name and
// preferred_username, email gives email (always verified: kube-apiserver refuses an unverified
// email as username), groups gives groups (an empty list for a user in none).
func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	user, ok := s.subjects[subject]
	if !ok {
		return fmt.Errorf("no user has subject %q", subject)
	}
	info.Subject = subject
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeProfile:
			info.Name, info.PreferredUsername = user.Name, user.Username
		case oidc.ScopeEmail:
			info.Email, info.EmailVerified = user.Email, true
		case scopeGroups:
			info.AppendClaims(claimGroups, append([]string{}, user.Groups...))
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque, not JWTs.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID refuses: clients authenticate with a secret, not with a JWT (RFC 7523).
func (s *storage) GetKeyByIDAndClientID(_ context.Context, _, clientID string) (*jose.JSONWebKey, error) {
	return nil, fmt.Errorf("client %q: JWT profile authentication is not supported", clientID)
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }
