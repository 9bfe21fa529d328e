// Package backend holds the end-to-end tests of bindery-backend, the provider side of the bind
// half: a real provider kube-apiserver that trusts the backend's embedded OIDC issuer through
// --authentication-config (the "common trusted OIDC" of the Kube -> Kube scenario), the backend
// as a process, a real headless Chromium that signs in on the issuer's page and picks a Service on
// the backend's, and kubectl-bindery. The tests prove who may bind what, what a bind provisions,
// what its credential can and cannot do, and that deleting a Consumer revokes it.
package backend
