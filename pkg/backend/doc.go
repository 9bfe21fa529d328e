// Package backend is bindery-backend: the provider side of the bind half. It signs consumers in at
// a common trusted OIDC issuer (it is the issuer's relying party: authorization code flow with
// PKCE, state and nonce), asks the provider cluster whether the signed-in user may bind a Service
// (a SubjectAccessReview for the user as the provider's kube-apiserver names it, so the provider's
// RBAC decides), and binds: it provisions a Consumer (pkg/consumers) and returns a short-lived
// credential with the consumer-facing CRDs of the Service (pkg/services).
//
// It serves a server-rendered web page for people (sign in, the Services they may bind, pick one)
// and a JSON API for `kubectl bindery` with the same operations (the contract is
// pkg/bindprotocol). It keeps no session state: sessions, logins in progress and one-time codes
// are sealed values (pkg/seal) whose key is a Secret on the provider cluster, so a restart of the
// backend signs nobody out.
package backend
