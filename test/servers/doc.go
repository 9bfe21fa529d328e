// Package servers starts the real API servers bindery is tested and run against: a kcp process
// (StartKCP), a sharded kcp of several shards with kcp's cache server and front-proxy and
// certificates made here (StartShardedKCP), and envtest Kubernetes clusters (kube-apiserver plus
// etcd). The binaries come from the pinned tool modules under hack/tools, built by `make tools`
// and linked into bin/tools.
//
// The package knows nothing about testing.T so that both the e2e framework (test/framework) and
// the local environment behind `make run` (hack/localenv) can use it.
package servers
