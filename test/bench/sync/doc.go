// Package syncbench benchmarks bindery-syncagent end to end against a real kcp and a real provider
// kube-apiserver, with the agent running as a process: sync throughput against the raw create
// rate of kcp, create-to-copy latency at a steady rate, and the agent's peak memory. It runs in
// `make bench`, not in `make test`; results are in docs/performance.md.
package syncbench
