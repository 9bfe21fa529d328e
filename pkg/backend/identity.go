package backend

import (
	"fmt"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// ClaimMapping says how the provider's kube-apiserver turns ID token claims into a user; the
// backend must name users exactly the same way, or its access reviews ask about someone else. It
// mirrors claimMappings of the kube-apiserver's AuthenticationConfiguration.
type ClaimMapping struct {
	// UsernameClaim is the claim holding the username (kube-apiserver: claimMappings.username.claim).
	UsernameClaim string
	// UsernamePrefix is prepended to it (claimMappings.username.prefix).
	UsernamePrefix string
	// GroupsClaim is the claim holding the groups, a string or a list of strings; empty for none.
	GroupsClaim string
	// GroupsPrefix is prepended to each group (claimMappings.groups.prefix).
	GroupsPrefix string
}

// Defaults of ClaimMapping.
const (
	DefaultUsernameClaim  = "email"
	DefaultUsernamePrefix = "oidc:"
	DefaultGroupsClaim    = "groups"
	DefaultGroupsPrefix   = "oidc:"
)

// User maps verified ID token claims to the user, as the kube-apiserver would.
func (m ClaimMapping) User(issuer string, claims map[string]any) (bindprotocol.User, error) {
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return bindprotocol.User{}, fmt.Errorf("the ID token has no sub claim")
	}
	name, ok := claims[m.UsernameClaim].(string)
	if !ok || name == "" {
		return bindprotocol.User{}, fmt.Errorf("the ID token has no %q claim, which --oidc-username-claim names; ask the issuer to include it (scope profile/email) or pick another claim", m.UsernameClaim)
	}
	// kube-apiserver refuses an email username whose address the issuer has not verified.
	if m.UsernameClaim == "email" {
		if verified, present := claims["email_verified"]; present && verified != true {
			return bindprotocol.User{}, fmt.Errorf("the issuer has not verified the email address %s, and the provider's kube-apiserver refuses unverified addresses", name)
		}
	}
	groups, err := m.groups(claims)
	if err != nil {
		return bindprotocol.User{}, err
	}
	return bindprotocol.User{
		Issuer:      issuer,
		Subject:     sub,
		Username:    m.UsernamePrefix + name,
		Groups:      groups,
		DisplayName: displayName(claims, name),
	}, nil
}

func (m ClaimMapping) groups(claims map[string]any) ([]string, error) {
	if m.GroupsClaim == "" {
		return nil, nil
	}
	var groups []string
	switch v := claims[m.GroupsClaim].(type) {
	case nil:
	case string:
		groups = []string{m.GroupsPrefix + v}
	case []any:
		for _, g := range v {
			s, ok := g.(string)
			if !ok {
				return nil, fmt.Errorf("the ID token's %q claim holds %T, want strings", m.GroupsClaim, g)
			}
			groups = append(groups, m.GroupsPrefix+s)
		}
	default:
		return nil, fmt.Errorf("the ID token's %q claim is a %T, want a string or a list of strings", m.GroupsClaim, v)
	}
	return groups, nil
}

func displayName(claims map[string]any, fallback string) string {
	for _, claim := range []string{"name", "preferred_username", "email"} {
		if s, _ := claims[claim].(string); s != "" {
			return s
		}
	}
	return fallback
}
