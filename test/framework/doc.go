// Package framework is the e2e test framework: every e2e test package runs its tests against one
// real kcp process started in TestMain (see Main), creates its own uniquely named workspaces in it
// (NewWorkspace), and starts real kube-apiservers for provider and consumer clusters (StartKube).
//
// Tests share the kcp process but never each other's workspaces, so they can run in parallel.
// Suites that need several shards call MainSharded instead of Main: their workspaces go through
// kcp's front-proxy, onto the shard OnShard names.
// When a server binary is missing, the package fails at once and says to run `make tools`.
package framework
