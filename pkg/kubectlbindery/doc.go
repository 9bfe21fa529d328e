// Package kubectlbindery is the kubectl plugin `kubectl bindery`: commands that show what bindery
// knows, such as the catalog of services that providers list, the commands that sign a user in
// to a bindery-backend (login, whoami) through pkg/bindclient, and the commands that bind a
// provider's service into the user's own Kubernetes cluster and take it out again (bind,
// bindings, unbind).
//
// bind's consumer-side half is ConsumerBind, separate from the sign-in and the call to the
// backend, so that it can be driven with a BindResponse of one's own: it reads the cluster's
// identity, writes the ServiceBinding with its credential Secret and the konnector's rights on
// the received resources (pkg/konnectorrbac) with server-side apply, installs the konnector, and
// waits until the binding is Ready.
package kubectlbindery
