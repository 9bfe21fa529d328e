// Package konnectorbench benchmarks bindery-konnector end to end, as a process between two real
// kube-apiservers (a consumer and a provider cluster): its objects/s against the raw create rate
// of the provider kube-apiserver and against kube-bind's konnector v0.8.2 (built as a pinned tool
// by hack/tools.sh kube-bind) in the same run, and create-to-copy latency at a steady rate. It runs
// in `make bench`, not in `make test`; results are in docs/performance.md.
package konnectorbench
