// Package kubectlbindery is the kubectl plugin `kubectl bindery`: commands that show what bindery
// knows, such as the catalog of services that providers list, and the commands that sign a user in
// to a bindery-backend (login, whoami) through pkg/bindclient, before a provider's service is bound
// into the user's own cluster.
package kubectlbindery
