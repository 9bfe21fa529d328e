// Package controller holds the example database operator's only reconciler, DatabaseReconciler.
//
// For every Database it keeps a finalizer, a credentials Secret named <database>-credentials next
// to it, and a status that says where to connect (status.endpoint) and whether the database can be
// used (the Ready condition). The "database" itself is imaginary: the operator stands in for a
// real provider's operator so that bindery's quickstart and tests have a provider service that
// behaves like one, with spec down, status and a credentials Secret up, and cleanup on deletion.
//
// The provider cluster may be a bare kube-apiserver without a garbage collector (bindery's local
// environment and e2e tests run one), so the reconciler deletes the Secret itself before it lets
// the Database go; the Secret's owner reference is for clusters that do collect garbage, and for
// humans.
package controller
