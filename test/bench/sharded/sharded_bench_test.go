package shardedbench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/bench/internal/agentfixture"
	"github.com/bindery-dev/bindery/test/bench/internal/measure"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

const (
	workspaces   = 4  // consumer workspaces per pass
	perWorkspace = 50 // objects created in each, by one creator per workspace
	objects      = workspaces * perWorkspace
)

// BenchmarkSyncAcrossShards measures, in one run (b.N is ignored; run with -benchtime=1x), on one
// sharded kcp (root shard and shard-1) with one agent:
//   - one-shard-objects/s: 200 objects created across 4 workspaces on the root shard, until every
//     copy exists in the provider cluster;
//   - two-shards-objects/s: the same across 4 other workspaces, 2 on each shard;
//   - two/one: the ratio of the two;
//   - one-shard-again-objects/s: the first pass once more (new objects in its workspaces), after
//     the second: how much the rate drifts between passes, whatever the shards;
//   - kcp-cpu-ms/obj-one, kcp-cpu-ms/obj-two: the CPU time of both shard processes (etcd runs
//     inside each) per object in each pass, and agent-cpu-ms/obj-* the agent's, both net of
//     their idle rate (taken over 5 s before the first pass).
func BenchmarkSyncAcrossShards(b *testing.B) {
	ctx := framework.Context(b)
	kcp := framework.Sharded(b)
	kube := framework.StartKube(b, "deploy/crd")
	provider := framework.NewClient(b, kube.Config())
	if err := provider.Create(ctx, agentfixture.CRD()); err != nil {
		b.Fatal(err)
	}
	providerWS := framework.NewWorkspace(b, "bench-provider", framework.OnShard(servers.RootShard))
	// The shards registered URLs the agent reaches directly, so it needs no --endpoint-url-rewrite.
	agent := framework.StartProcess(b, "agent", framework.Binary(b, "./cmd/bindery-syncagent"),
		"--kcp-kubeconfig", framework.WriteKubeconfig(b, "kcp", providerWS.Config),
		"--kubeconfig", framework.WriteKubeconfig(b, "provider", kube.Config()),
		"--apiexport-endpoint-slice", agentfixture.Name, "--agent-name", "bench",
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	if err := provider.Create(ctx, agentfixture.PublishedResource()); err != nil {
		b.Fatal(err)
	}
	agentfixture.WaitForSynced(b, provider, 2*time.Minute)
	seen := measure.WatchCopies(b, kube.Config(), agentfixture.CopyGVR, "", func(u *unstructured.Unstructured) string {
		return u.GetLabels()[syncengine.SourceLabel]
	})

	// Both passes' workspaces are set up (bound, one warm-up object synced each) before either is
	// timed, so that the agent serves both shards' endpoints in both passes.
	oneShard := consumers(b, providerWS, seen, servers.RootShard, servers.RootShard, servers.RootShard, servers.RootShard)
	twoShards := consumers(b, providerWS, seen, servers.RootShard, servers.RootShard, "shard-1", "shard-1")

	procs := measure.Processes{"agent": agent.Pid()}
	for _, s := range kcp.Shards() {
		procs["kcp "+s.Name] = s.Pid()
	}
	idle := procs.IdleRates(b, 5*time.Second)
	b.Logf("idle CPU, ms/s: %v", idle)
	b.ResetTimer()
	one := runPass(b, "one", oneShard, seen, procs, idle)
	two := runPass(b, "two", twoShards, seen, procs, idle)
	// The first pass again (new objects, same workspaces): how far the rates drift from one pass to
	// the next on this kcp, whatever the shards.
	again := runPass(b, "again", oneShard, seen, procs, idle)
	b.StopTimer()

	b.ReportMetric(one.rate, "one-shard-objects/s")
	b.ReportMetric(two.rate, "two-shards-objects/s")
	b.ReportMetric(two.rate/one.rate, "two/one")
	b.ReportMetric(again.rate, "one-shard-again-objects/s")
	b.ReportMetric(one.kcpCPU, "kcp-cpu-ms/obj-one")
	b.ReportMetric(two.kcpCPU, "kcp-cpu-ms/obj-two")
	b.ReportMetric(again.kcpCPU, "kcp-cpu-ms/obj-again")
	b.ReportMetric(one.agentCPU, "agent-cpu-ms/obj-one")
	b.ReportMetric(two.agentCPU, "agent-cpu-ms/obj-two")
}

// pass is one pass's result: objects/s and CPU milliseconds per object, net of idle.
type pass struct {
	rate, kcpCPU, agentCPU float64
}

// runPass creates perWorkspace objects in each workspace, one creator per workspace, and waits
// until the provider cluster holds a copy of each; the pass ends when the last copy was seen.
func runPass(b *testing.B, prefix string, clients []*framework.Workspace, seen *measure.Copies, procs measure.Processes, idle map[string]float64) pass {
	want := make([]string, 0, objects)
	for _, ws := range clients {
		for i := range perWorkspace {
			want = append(want, source(ws, fmt.Sprintf("%s-%03d", prefix, i)))
		}
	}
	before := procs.CPUTimes(b)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	for _, ws := range clients {
		wg.Go(func() {
			for i := range perWorkspace {
				if err := ws.Client.Create(context.Background(), agentfixture.Object(agentfixture.PublishedGroup, "Database", fmt.Sprintf("%s-%03d", prefix, i))); err != nil {
					errs <- fmt.Errorf("in %s: %w", ws.Path, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	created := time.Since(start)
	for err := range errs {
		b.Fatalf("creating objects: %v", err)
	}
	last := waitForCopies(b, seen, prefix, want)
	b.Logf("pass %s: creates done after %s; last copy per shard after: %s", prefix, created.Round(time.Millisecond), lastByShard(b, seen, clients, prefix, start))
	elapsed := last.Sub(start)
	net := measure.NetOfIdle(before, procs.CPUTimes(b), idle, elapsed)
	var kcpCPU time.Duration
	for role, cpu := range net {
		if role != "agent" {
			kcpCPU += cpu
		}
	}
	b.Logf("pass %s: %d objects in %s; CPU net of idle: %v", prefix, objects, elapsed.Round(time.Millisecond), net)
	return pass{
		rate:     float64(objects) / elapsed.Seconds(),
		kcpCPU:   float64(kcpCPU.Microseconds()) / 1000 / objects,
		agentCPU: float64(net["agent"].Microseconds()) / 1000 / objects,
	}
}

// consumers makes one workspace per shard named, binds the export and syncs a warm-up object.
func consumers(b *testing.B, providerWS *framework.Workspace, seen *measure.Copies, shards ...string) []*framework.Workspace {
	out := make([]*framework.Workspace, 0, len(shards))
	for _, shard := range shards {
		ws := framework.NewWorkspace(b, "bench-consumer", framework.OnShard(shard))
		if got := framework.ShardOf(b, ws); got != shard {
			b.Fatalf("workspace %s landed on shard %s, want %s", ws.Path, got, shard)
		}
		framework.Bind(b, ws, providerWS.Path, agentfixture.Name,
			framework.Claim("", "events", "create", "patch", "update"),
			framework.Claim("", "namespaces", "create", "get", "list", "watch"))
		framework.CreateWhenServed(b, ws.Client, agentfixture.Object(agentfixture.PublishedGroup, "Database", "warm-up"))
		out = append(out, ws)
	}
	for _, ws := range out {
		waitForCopies(b, seen, "warm-up", []string{source(ws, "warm-up")})
	}
	return out
}

// lastByShard says, per shard, when the last copy of the pass's objects in its workspaces
// appeared, counted from start.
func lastByShard(b *testing.B, seen *measure.Copies, clients []*framework.Workspace, prefix string, start time.Time) map[string]time.Duration {
	last := map[string]time.Duration{}
	for _, ws := range clients {
		shard := framework.ShardOf(b, ws)
		for i := range perWorkspace {
			if at, ok := seen.SeenAt(source(ws, fmt.Sprintf("%s-%03d", prefix, i))); ok {
				last[shard] = max(last[shard], at.Sub(start).Round(time.Millisecond))
			}
		}
	}
	return last
}

// source is the key of the copies: the source hash syncengine labels each copy with.
func source(ws *framework.Workspace, name string) string {
	return syncengine.Source{Cluster: ws.Cluster.String(), Namespace: "default", Name: name}.Hash()
}

// waitForCopies waits until a copy of every source (hash) was seen and returns when the last one was.
func waitForCopies(b *testing.B, seen *measure.Copies, what string, hashes []string) time.Time {
	var last time.Time
	framework.WaitFor(b, 10*time.Minute, fmt.Sprintf("the copies of %d %s objects", len(hashes), what), func(context.Context) (bool, string, error) {
		n := 0
		for _, h := range hashes {
			if at, ok := seen.SeenAt(h); ok {
				n++
				if at.After(last) {
					last = at
				}
			}
		}
		return n == len(hashes), fmt.Sprintf("%d of %d copied", n, len(hashes)), nil
	})
	return last
}
