// Package crd installs a CustomResourceDefinition at start: it applies the manifest with
// server-side apply and waits until the API server serves the new API (the Established condition).
//
// An operator that installs its own CRD needs no separate install step, which keeps bindery's
// local environment to "start the binary". It does need RBAC for the CRD (get and patch on
// customresourcedefinitions, create for the first install); clusters that manage CRDs through a
// deployment pipeline turn it off with --install-crd=false and drop those rights.
package crd
