// Package exampleoperator tests the example database operator (examples/database-operator), the
// provider service of bindery's quickstart, as a provider cluster runs it: the built binary
// against a real kube-apiserver without garbage collector or controller manager, as the
// ServiceAccount of its config/rbac.yaml (by impersonation), so that the RBAC it ships is tested
// too.
//
// It needs no kcp, so it has no TestMain: each test starts its own kube-apiserver.
package exampleoperator
