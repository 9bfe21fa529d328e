package konnector

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// credential is what a binding's kubeconfig says: where the provider is and the token to show it.
type credential struct {
	// config reaches the provider, without the token (the connection adds it per request).
	config *rest.Config
	token  token
}

// token is a bearer token with the times its JWT payload claims; zero times when it claims none.
type token struct {
	value           string
	issued, expires time.Time
}

// parseCredential reads a credential kubeconfig. It must authenticate with a bearer token: that
// is what the backend issues and what the konnector renews.
func parseCredential(kubeconfig []byte) (credential, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return credential{}, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	if cfg.BearerToken == "" {
		return credential{}, errors.New("the kubeconfig has no bearer token")
	}
	tok := tokenOf(cfg.BearerToken)
	cfg.BearerToken, cfg.BearerTokenFile = "", ""
	return credential{config: cfg, token: tok}, nil
}

// endpoint identifies where a credential leads: the server and how it is trusted. A connection
// is replaced when it changes; a new token for the same endpoint is swapped in place.
func (c credential) endpoint() string {
	h := sha256.New()
	tls := c.config.TLSClientConfig
	for _, part := range []string{c.config.Host, c.config.APIPath, tls.ServerName, tls.CAFile, string(tls.CAData), fmt.Sprint(tls.Insecure)} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// tokenOf reads the iat and exp claims of a JWT's payload, unverified: the token is the
// konnector's own credential, and the claims only schedule its renewal. A token that is no JWT
// has zero times.
func tokenOf(value string) token {
	t := token{value: value}
	parts := strings.Split(value, ".")
	if len(parts) != 3 {
		return t
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return t
	}
	var claims struct {
		IssuedAt  *json.Number `json:"iat"`
		ExpiresAt *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return t
	}
	t.issued, t.expires = unixTime(claims.IssuedAt), unixTime(claims.ExpiresAt)
	return t
}

func unixTime(n *json.Number) time.Time {
	if n == nil {
		return time.Time{}
	}
	s, err := n.Int64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// Renewal: a token is renewed when less than a third of its lifetime or less than minRemaining
// is left, whichever comes first, but never before half of its lifetime has passed, so that a
// provider that issues short tokens is not asked for a new one at every pass.
const minRemaining = 20 * time.Minute

// renewalTime is when t should be renewed. issuedFallback stands in for a token without an iat
// claim (when the konnector got it). A token without an exp claim is never renewed: nothing says
// it expires.
func (t token) renewalTime(issuedFallback time.Time) (time.Time, bool) {
	if t.expires.IsZero() {
		return time.Time{}, false
	}
	issued := t.issued
	if issued.IsZero() {
		issued = issuedFallback
	}
	due := t.expires.Add(-minRemaining)
	lifetime := t.expires.Sub(issued)
	if lifetime <= 0 {
		return due, true
	}
	if third := t.expires.Add(-lifetime / 3); third.Before(due) {
		due = third
	}
	if half := issued.Add(lifetime / 2); due.Before(half) {
		due = half
	}
	return due, true
}

// newer says whether t should replace other, the token in use: a token from the Secret replaces
// it only when it expires later, so that a Secret write that failed (the Secret still holds the
// older token) never sets a renewal back. Tokens whose expiry is unknown cannot be compared; a
// different one in the Secret is taken (the binding was renewed by hand or bound again).
func (t token) newer(other token) bool {
	switch {
	case t.value == other.value:
		return false
	case t.expires.IsZero() || other.expires.IsZero():
		return true
	default:
		return t.expires.After(other.expires)
	}
}

// withToken returns kubeconfig with the bearer token of its current context replaced.
func withToken(kubeconfig []byte, value string) ([]byte, error) {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("the kubeconfig has no current context %q", cfg.CurrentContext)
	}
	user, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok {
		return nil, fmt.Errorf("the kubeconfig's context %q names no user %q", cfg.CurrentContext, ctx.AuthInfo)
	}
	user.Token, user.TokenFile = value, ""
	return clientcmd.Write(*cfg)
}
