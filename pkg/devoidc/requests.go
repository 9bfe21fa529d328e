package devoidc

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// amrPassword is the authentication method reference of a login with a password (RFC 8176).
const amrPassword = "pwd"

// authRequest is one authorization request, from /authorize through the login page to the code
// exchange. The storage hands out copies, so the op package never sees one change under it.
type authRequest struct {
	id            string
	createdAt     time.Time
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge

	// Set by a successful login.
	subject  string
	authTime time.Time
	done     bool
	// Set when the code is issued.
	code string
}

var _ op.AuthRequest = (*authRequest)(nil)

func newAuthRequest(id string, req *oidc.AuthRequest, now time.Time) *authRequest {
	return &authRequest{
		id:           id,
		createdAt:    now,
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone(req.Scopes),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		codeChallenge: &oidc.CodeChallenge{
			Challenge: req.CodeChallenge,
			Method:    req.CodeChallengeMethod,
		},
	}
}

func (a *authRequest) clone() *authRequest {
	c := *a
	c.scopes = slices.Clone(a.scopes)
	return &c
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

func (a *authRequest) GetAMR() []string {
	if !a.done {
		return nil
	}
	return []string{amrPassword}
}

// grant is what an access or refresh token stands for: who signed in, at which client, with which
// scopes. A refresh carries it over to the tokens it issues.
type grant struct {
	subject  string
	clientID string
	scopes   []string
	authTime time.Time
}

// grantOf returns the grant behind a token request the op package passes to the storage: an
// authorization request after its code exchange, or a refresh.
func grantOf(request op.TokenRequest) grant {
	g := grant{subject: request.GetSubject(), scopes: slices.Clone(request.GetScopes())}
	switch r := request.(type) {
	case *authRequest:
		g.clientID, g.authTime = r.clientID, r.authTime
	case *refreshTokenRequest:
		g.clientID, g.authTime = r.clientID, r.authTime
	}
	return g
}

// refreshTokenRequest is the op package's view of a refresh token being redeemed.
type refreshTokenRequest struct {
	grant
}

var _ op.RefreshTokenRequest = (*refreshTokenRequest)(nil)

func (r *refreshTokenRequest) GetAMR() []string            { return []string{amrPassword} }
func (r *refreshTokenRequest) GetAudience() []string       { return []string{r.clientID} }
func (r *refreshTokenRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshTokenRequest) GetClientID() string         { return r.clientID }
func (r *refreshTokenRequest) GetScopes() []string         { return r.scopes }
func (r *refreshTokenRequest) GetSubject() string          { return r.subject }
func (r *refreshTokenRequest) SetCurrentScopes(s []string) { r.scopes = s }
