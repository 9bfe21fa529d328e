// Package localenv tests the local environment behind `make run` and `make stop` as a user drives
// it: start it, use kcp and the provider cluster with kubectl, start it again, stop it, and check
// that no process it started is left.
package localenv
