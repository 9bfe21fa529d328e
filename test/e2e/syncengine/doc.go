// Package syncengine tests bindery's sync engine (pkg/syncengine) with plain Kubernetes clusters on
// both sides: a real kube-apiserver as the source of truth and another as the destination, no
// kcp. What it checks is the engine's contract, whoever runs it (the syncagent with kcp
// workspaces as sources, the konnector with a consumer cluster): one copy per source object,
// never another sync's or another party's object written or deleted, finalizers of others left
// alone, related objects that cannot collide and do not leak.
//
// It needs no kcp, so TestMain starts only the two clusters, which every test shares; tests keep
// apart by their own agent names and namespaces.
package syncengine
