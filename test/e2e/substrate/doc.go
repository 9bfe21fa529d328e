// Package substrate proves the e2e substrate itself: a real kcp serves an APIExport to two
// consumer workspaces through its virtual workspace, and a real kube-apiserver serves a CRD.
// If these tests fail, every other e2e test would fail for the same reason.
package substrate
