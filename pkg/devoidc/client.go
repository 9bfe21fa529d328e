package devoidc

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	// idTokenLifetime is how long an ID token is valid, as with most hosted providers.
	idTokenLifetime = time.Hour
	// scopeGroups asks for the groups claim; kube-apiserver reads groups from the ID token.
	scopeGroups = "groups"
)

// Client is a relying party registered at the provider: a confidential client of the
// authorization code flow, which must use PKCE (S256) and authenticates at the token endpoint with
// client_secret_basic or client_secret_post.
type Client struct {
	ID     string
	Secret string
	// RedirectURIs are matched exactly; http is allowed (for loopback callbacks in tests).
	RedirectURIs []string
}

// validateClients checks that every client can complete a code flow and that no ID is taken twice.
func validateClients(clients []Client) error {
	if len(clients) == 0 {
		return fmt.Errorf("no clients: no relying party could sign anyone in")
	}
	seen := make(map[string]bool, len(clients))
	for i, c := range clients {
		switch {
		case c.ID == "":
			return fmt.Errorf("client %d: ID is empty", i+1)
		case c.Secret == "":
			return fmt.Errorf("client %d %q: secret is empty (clients are confidential)", i+1, c.ID)
		case len(c.RedirectURIs) == 0:
			return fmt.Errorf("client %d %q: no redirect URIs", i+1, c.ID)
		case seen[c.ID]:
			return fmt.Errorf("client %d %q: ID appears more than once", i+1, c.ID)
		}
		for _, uri := range c.RedirectURIs {
			if u, err := url.Parse(uri); err != nil || !u.IsAbs() {
				return fmt.Errorf("client %d %q: redirect URI %q is not an absolute URL", i+1, c.ID, uri)
			}
		}
		seen[c.ID] = true
	}
	return nil
}

// opClient is how the op package sees a Client.
type opClient struct {
	Client
}

var _ op.Client = opClient{}

func (c opClient) GetID() string                       { return c.ID }
func (c opClient) RedirectURIs() []string              { return slices.Clone(c.Client.RedirectURIs) }
func (c opClient) PostLogoutRedirectURIs() []string    { return nil }
func (c opClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c opClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c opClient) IDTokenLifetime() time.Duration       { return idTokenLifetime }
func (c opClient) DevMode() bool                        { return false }
func (c opClient) ClockSkew() time.Duration             { return 0 }
func (c opClient) IsScopeAllowed(scope string) bool     { return scope == scopeGroups }
func (c opClient) LoginURL(authRequestID string) string { return loginURL(authRequestID) }

// GrantTypes: the code flow, and refresh tokens for a client that asks for offline_access.
func (c opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// IDTokenUserinfoClaimsAssertion puts the claims of the profile and email scopes into the ID
// token even though an access token is issued too: kube-apiserver reads only the ID token.
func (c opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return keepScopes
}

func (c opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return keepScopes
}

func keepScopes(scopes []string) []string { return scopes }
