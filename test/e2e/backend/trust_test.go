package backend

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bindery-dev/bindery/test/framework"
)

// issuerIDToken signs u in at the embedded issuer as the test's own client (a kubectl OIDC login
// would do the same) and returns the ID token.
func issuerIDToken(t *testing.T, browser context.Context, u user) string {
	t.Helper()
	ctx := oidc.ClientContext(framework.Context(t), issuerHTTPClient(t))
	issuer, err := oidc.NewProvider(ctx, "https://"+issuerAddress)
	if err != nil {
		t.Fatalf("discovering the embedded issuer: %v", err)
	}
	config := oauth2.Config{ClientID: kubectlClientID, ClientSecret: kubectlClientSecret, Endpoint: issuer.Endpoint(),
		RedirectURL: tokenCatcher.URL(), Scopes: []string{oidc.ScopeOpenID, "email", "profile", "groups"}}
	verifier := oauth2.GenerateVerifier()
	steps, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	act(t, steps, chromedp.Navigate(config.AuthCodeURL("e2e-state", oauth2.S256ChallengeOption(verifier))))
	enterCredentials(t, steps, u)
	var code string
	select {
	case code = <-tokenCatcher.codes:
	case <-steps.Done():
		t.Fatal("the issuer did not send the browser back to the test's callback")
	}
	token, err := config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("redeeming the code: %v", err)
	}
	raw, _ := token.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("the issuer returned no ID token")
	}
	return raw
}

// providerUserInfo asks the provider's kube-apiserver who the bearer of an ID token is. The
// kube-apiserver started before the issuer did, and fetches the issuer's keys in the background
// with a backoff: until it has them, it refuses every token of the issuer as Unauthorized.
func providerUserInfo(t *testing.T, idToken string) authenticationv1.UserInfo {
	t.Helper()
	cfg := rest.AnonymousClientConfig(provider.Config())
	cfg.BearerToken = idToken
	reviews := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews()
	var info authenticationv1.UserInfo
	framework.WaitFor(t, time.Minute, "the provider's kube-apiserver to accept the issuer's ID token", func(ctx context.Context) (bool, string, error) {
		review, err := reviews.Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if apierrors.IsUnauthorized(err) {
			return false, err.Error(), nil
		}
		if err != nil {
			return false, "", err
		}
		info = review.Status.UserInfo
		return true, "", nil
	})
	return info
}
