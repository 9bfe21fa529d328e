// Package measure holds what the end-to-end benchmarks in test/bench measure with: the CPU time
// of the processes of a run (kube-apiservers and etcd found among the benchmark's children, kcp,
// bindery's processes) net of their idle rate, the requests an API server served from its own
// apiserver_request_total, when copies first appear (an informer), and quantiles.
package measure
