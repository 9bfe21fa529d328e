// Package devoidc is a real OpenID provider that runs inside a process, for development
// (`bindery-backend --dev-oidc`, `make run`) and for tests, so that a login needs nothing external.
// It is built on the op package of github.com/zitadel/oidc with a small in-memory storage: users
// and clients come from Options, and authorization requests, codes and tokens live in memory.
//
// It serves what a relying party and kube-apiserver's --authentication-config expect of a hosted
// issuer: HTTPS with its own CA (CACertPEM, generated at start or kept in Options.CertDir),
// discovery at /.well-known/openid-configuration, JWKS, the authorization code flow with PKCE
// (S256, required), client_secret_basic and client_secret_post at the token endpoint, refresh
// tokens for the offline_access scope, and userinfo. ID tokens are RS256, valid for an hour, and
// carry iss, aud (the client id), sub (User.Subject), exp, iat, the request's nonce and, by scope,
// preferred_username and name (profile), email and email_verified (email) and groups (groups):
// kube-apiserver reads claims from the ID token only, so they are there and not only in userinfo.
//
// The login page is server-rendered HTML without JavaScript. Browser tests (chromedp) rely on
// these element ids, which are kept stable:
//
//	#login-form  the form (POST /login)
//	#username    the username input
//	#password    the password input
//	#login       the submit button
//	#error       the error text, present only after a failed attempt; a wrong username or password
//	             shows "Wrong username or password." and issues no code
//
// After a successful login the provider completes the authorization request and redirects the
// browser to the client's redirect URI with the code and state. Nothing here is meant for
// production: passwords are plain text in Options and every email is marked verified.
package devoidc
