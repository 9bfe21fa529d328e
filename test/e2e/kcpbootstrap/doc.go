// Package kcpbootstrap tests the kcp bootstrap manifests in deploy/kcp against a real kcp: it
// applies them as an admin would, then runs bindery-syncagent and bindery-manager in-process under
// the identities the manifests name (by impersonation), and checks that those identities can do
// their whole job and no more than the manifests claim.
package kcpbootstrap
