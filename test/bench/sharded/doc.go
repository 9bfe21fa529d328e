// Package shardedbench benchmarks bindery-syncagent (a process) against a sharded kcp: the root
// shard and shard-1 with kcp's cache server and front-proxy (servers.StartShardedKCP), and a real
// provider kube-apiserver. BenchmarkSyncAcrossShards runs three passes on the same kcp and agent,
// one after the other, each the same workload: 4 consumer workspaces with 50 objects each (200
// objects, one creator per workspace). Pass one has all 4 workspaces on the root shard, pass two
// 2 on the root shard and 2 on shard-1, and a last pass repeats pass one with new objects, to
// show how much the rate drifts between passes whatever the shards. Each pass is timed from its
// first create until the provider cluster holds a copy of every object; no operator runs, so no
// status comes back. It reports the rates, the ratio two-shards/one-shard and the CPU per object
// of the shards and the agent. Both shards run on the same cores as everything else, so the
// ratio is the cost of spreading consumers over shards, not a speed-up. It runs in `make bench`,
// not in `make test`; results are in docs/performance.md.
package shardedbench
