// Package kubectlbindery is the kubectl plugin `kubectl bindery`: commands that show what bindery
// knows, such as the catalog of services that providers list.
package kubectlbindery
