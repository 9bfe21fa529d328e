// Package twohopbench benchmarks the chain team cluster -> team workspace -> provider cluster
// end to end: bindery-konnector carries a Database from a team's Kubernetes cluster into the
// team's kcp workspace, which bindery-backend serves, and bindery-syncagent carries it on into
// the provider's cluster. It measures, at a steady 10 objects per second, the latency of the two
// hops together against each hop alone in the same run, with the CPU and requests each object
// costs every process. It runs in `make bench`, not in `make test`; results are in
// docs/performance.md.
package twohopbench
