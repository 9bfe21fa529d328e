package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCOptions configure the issuer the backend signs users in at.
type OIDCOptions struct {
	// IssuerURL is the issuer's URL; its discovery document is at
	// <IssuerURL>/.well-known/openid-configuration.
	IssuerURL string
	// ClientID and ClientSecret of the backend at the issuer (a confidential client whose redirect
	// URI is <external URL>/callback).
	ClientID     string
	ClientSecret string
	// CAData are PEM certificates to trust for the issuer instead of the system's roots.
	CAData []byte
	// Scopes asked for besides openid (default: email, profile, groups).
	Scopes []string
	// Claims says how claims become the user, as the provider's kube-apiserver does it.
	Claims ClaimMapping
}

// relyingParty talks to the issuer. Discovery happens on first use and is retried on each later
// use until it succeeds, so a backend started before its issuer serves as soon as the issuer does.
type relyingParty struct {
	opts        OIDCOptions
	callbackURL string
	httpClient  *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func newRelyingParty(opts OIDCOptions, callbackURL string) (*relyingParty, error) {
	httpClient := &http.Client{Timeout: 30 * time.Second}
	if len(opts.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(opts.CAData) {
			return nil, fmt.Errorf("the issuer's CA holds no PEM certificate")
		}
		httpClient.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	if len(opts.Scopes) == 0 {
		opts.Scopes = []string{"email", "profile", "groups"}
	}
	return &relyingParty{opts: opts, callbackURL: callbackURL, httpClient: httpClient}, nil
}

func (rp *relyingParty) discover(ctx context.Context) (*oidc.Provider, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.provider != nil {
		return rp.provider, nil
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, rp.httpClient), rp.opts.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("the sign-in provider %s does not answer: %w", rp.opts.IssuerURL, err)
	}
	rp.provider = provider
	return provider, nil
}

func (rp *relyingParty) oauth2Config(provider *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     rp.opts.ClientID,
		ClientSecret: rp.opts.ClientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  rp.callbackURL,
		Scopes:       append([]string{oidc.ScopeOpenID}, rp.opts.Scopes...),
	}
}

// authCodeURL is where the browser goes to sign in: the authorization code flow with state,
// nonce and a PKCE challenge of verifier.
func (rp *relyingParty) authCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	provider, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	return rp.oauth2Config(provider).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// exchange redeems the issuer's code, verifies the ID token (signature, issuer, audience, expiry,
// nonce) and returns its claims.
func (rp *relyingParty) exchange(ctx context.Context, code, nonce, verifier string) (map[string]any, error) {
	provider, err := rp.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, rp.httpClient)
	token, err := rp.oauth2Config(provider).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("redeeming the sign-in code at %s: %w", rp.opts.IssuerURL, err)
	}
	raw, ok := token.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, fmt.Errorf("the issuer %s returned no ID token", rp.opts.IssuerURL)
	}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: rp.opts.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("verifying the ID token: %w", err)
	}
	if idToken.Nonce != nonce {
		return nil, fmt.Errorf("the ID token's nonce does not match this sign-in (a replayed token?)")
	}
	claims := map[string]any{}
	if err := idToken.Claims(&claims); err != nil {
		return nil, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	return claims, nil
}
