// Package manager benchmarks bindery-manager against a real kcp: how long a freshly started
// manager takes to catch up with a fleet of workspaces, and its peak memory. It runs in
// `make bench`, not in `make test`; results are in docs/performance.md.
package manager
