// Package backend holds the end-to-end tests of the bind half, Kube -> Kube: a real provider
// kube-apiserver that trusts bindery-backend's embedded OIDC issuer through --authentication-config
// (the "common trusted OIDC" of the scenario), the backend as a process, a real headless Chromium
// that signs in on the issuer's page and picks a Service on the backend's, kubectl-bindery, and
// consumer kube-apiservers with bindery-konnector as a process next to the provider's example
// database operator. The tests prove who may bind what, what a bind provisions, what its
// credential can and cannot do, that deleting a Consumer revokes it, and that objects created in
// a consumer cluster are run by the provider with status and credentials coming back, also across
// a konnector killed mid-batch, with consumer clusters isolated from each other.
package backend
