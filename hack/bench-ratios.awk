# Reads `go test -bench` output and prints, for BenchmarkDispatch, the ratios docs/performance.md
# reports: per-cluster registration vs routing at each size, and routing at each size vs 10 clusters.
/^BenchmarkDispatch\// {
	split($1, parts, "/")            # BenchmarkDispatch, <mode>, clusters=<n>-<procs>
	mode = parts[2]
	n = parts[3]; sub(/^clusters=/, "", n); sub(/-[0-9]+$/, "", n)
	for (i = 2; i <= NF; i++) {
		if ($(i+1) == "ns/op") ns[mode, n] = $i
		if ($(i+1) == "heap-B/cluster") heap[mode, n] = $i
	}
	sizes[n] = 1
}
END {
	if (length(sizes) == 0) exit
	printf "\n%-10s %16s %16s %12s %18s %18s\n", "clusters", "routed ns/event", "per-cluster ns", "speed-up", "routed B/cluster", "per-cluster B/cl."
	for (n in sizes) order[++k] = n + 0
	for (i = 2; i <= k; i++)        # insertion sort: mawk has no asort
		for (j = i; j > 1 && order[j-1] > order[j]; j--) { t = order[j]; order[j] = order[j-1]; order[j-1] = t }
	for (i = 1; i <= k; i++) {
		n = order[i]
		r = ns["routed", n]; p = ns["per-cluster", n]
		printf "%-10d %16s %16s %11.1fx %18s %18s\n", n, r, p, (r > 0 ? p / r : 0), heap["routed", n], heap["per-cluster", n]
	}
	if (ns["routed", order[1]] > 0)
		printf "routed cost at %d clusters / at %d clusters: %.2f\n", order[k], order[1], ns["routed", order[k]] / ns["routed", order[1]]
}
