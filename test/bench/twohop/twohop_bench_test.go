package twohopbench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/bindery-dev/bindery/test/bench/internal/measure"
	"github.com/bindery-dev/bindery/test/framework"
)

// The workload of each pass.
const (
	rate    = 10  // objects created per second, from one client
	objects = 200 // per pass: 20 s at rate
	// idleWindow is how long the processes are watched idle, before the first pass.
	idleWindow = 5 * time.Second
)

// BenchmarkTwoHops measures, in one run (b.N is ignored; run with -benchtime=1x), on one chain
// team cluster -> team workspace (bindery-konnector) -> provider cluster (bindery-syncagent), three
// passes of 200 Databases created at a steady 10 per second, one after the other:
//
//   - syncagent: created in the team workspace itself (a namespace of its own), until each copy
//     appears in the provider cluster: the second hop alone (the konnector idles);
//   - two-hops: created in the team cluster, until each copy appears in the workspace and its
//     copy in the provider cluster: both hops, with each hop's share of every object's latency;
//   - konnector: created in the team cluster with the syncagent stopped (SIGKILL), until each
//     copy appears in the workspace: the first hop alone.
//
// Latency is from the create returning until an informer of the benchmark sees the copy; no
// operator runs, so nothing comes back and each object costs what carrying it costs. Each pass
// reports <pass>-p50-ms and -p99-ms, the two-hop pass also the first and second hop of its
// objects, and the ratios two-hops/(konnector+syncagent) of p50 and p99; per object the CPU of
// all processes and of kcp (etcd included), net of each process's idle rate, and the requests kcp
// served (apiserver_request_total). The -v log has the CPU of every process and the requests of
// every API server, by verb and resource. ns/op is the wall time of the three passes.
func BenchmarkTwoHops(b *testing.B) {
	began := time.Now()
	c := newChain(b)
	b.Logf("set up and warmed up in %s", time.Since(began).Round(100*time.Millisecond))
	idle := c.procs.IdleRates(b, idleWindow)
	b.ResetTimer()
	agent := c.pass(b, "syncagent", idle, c.workspace.Config, c.workspaceGVR, directNamespace, leg{"provider", c.onProvider})
	both := c.pass(b, "two-hops", idle, c.team.Config(), c.teamGVR, teamNamespace, leg{"workspace", c.inWorkspace}, leg{"provider", c.onProvider})
	c.agent.Kill()
	delete(c.procs, "syncagent")
	konnector := c.pass(b, "konnector", idle, c.team.Config(), c.teamGVR, teamNamespace, leg{"workspace", c.inWorkspace})
	b.StopTimer()

	for _, p := range []passResult{agent, both, konnector} {
		total := p.latencies[p.last]
		b.ReportMetric(measure.Quantile(total, 0.5), p.name+"-p50-ms")
		b.ReportMetric(measure.Quantile(total, 0.99), p.name+"-p99-ms")
		b.ReportMetric(p.cpuPerObject(), p.name+"-cpu-ms/obj")
		b.ReportMetric(p.cpuPerObject("kcp"), p.name+"-kcp-cpu-ms/obj")
		b.ReportMetric(p.requests["kcp"], p.name+"-kcp-requests/obj")
	}
	first, second := both.latencies["workspace"], both.hop("workspace", "provider")
	b.ReportMetric(measure.Quantile(first, 0.5), "two-hops-first-hop-p50-ms")
	b.ReportMetric(measure.Quantile(first, 0.99), "two-hops-first-hop-p99-ms")
	b.ReportMetric(measure.Quantile(second, 0.5), "two-hops-second-hop-p50-ms")
	b.ReportMetric(measure.Quantile(second, 0.99), "two-hops-second-hop-p99-ms")
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		parts := measure.Quantile(konnector.latencies["workspace"], q.q) + measure.Quantile(agent.latencies["provider"], q.q)
		b.ReportMetric(measure.Quantile(both.latencies["provider"], q.q)/parts, "two-hops/sum-of-hops-"+q.name)
	}
}

// leg is where a pass watches its objects arrive.
type leg struct {
	name   string
	copies *measure.Copies
}

// passResult is what one pass measured.
type passResult struct {
	name string
	// latencies per leg, ms from the create returning until the copy was seen there; last is the
	// pass's last leg.
	latencies map[string][]float64
	last      string
	// created and arrived are, per object key, when its create returned and when each leg saw it.
	created map[string]time.Time
	arrived map[string]map[string]time.Time
	// cpu is each process's CPU time, net of its idle rate, from the first create until the last
	// copy arrived; requests the requests per object each API server served meanwhile.
	cpu      map[string]time.Duration
	requests map[string]float64
}

func (p passResult) cpuPerObject(roles ...string) float64 {
	if len(roles) == 0 {
		roles = slices.Collect(maps.Keys(p.cpu))
	}
	var sum time.Duration
	for _, role := range roles {
		sum += p.cpu[role]
	}
	return float64(sum.Microseconds()) / 1000 / objects
}

// hop is the latency from leg from to leg to of each object, in ms.
func (p passResult) hop(from, to string) []float64 {
	out := make([]float64, 0, len(p.created))
	for key := range p.created {
		out = append(out, float64(p.arrived[to][key].Sub(p.arrived[from][key]).Microseconds())/1000)
	}
	return out
}

// pass creates the objects <name's first letter><0000..0199> at rate in namespace of the cluster
// create reaches, as gvr, and waits until every leg has seen all of them.
func (c *chain) pass(b *testing.B, name string, idle map[string]float64, create *rest.Config, gvr schema.GroupVersionResource, namespace string, legs ...leg) passResult {
	ctx := framework.Context(b)
	prefix := name[:1]
	r := passResult{name: name, last: legs[len(legs)-1].name, latencies: map[string][]float64{},
		created: make(map[string]time.Time, objects), arrived: map[string]map[string]time.Time{}}
	done := make([]<-chan time.Time, len(legs))
	for i, l := range legs {
		done[i] = l.copies.Await(prefix, objects)
	}
	requestsBefore := map[string]map[string]float64{}
	for role, cfg := range c.servers {
		requestsBefore[role] = measure.RequestTotals(b, cfg)
	}
	cpuBefore := c.procs.CPUTimes(b)
	first := time.Now()
	resource := creator(b, create, gvr, namespace)
	ticker := time.NewTicker(time.Second / rate)
	for i := range objects {
		<-ticker.C
		key := fmt.Sprintf("%s%04d", prefix, i)
		if _, err := resource.Create(ctx, database(gvr, key), metav1.CreateOptions{}); err != nil {
			b.Fatalf("%s: creating %s: %v", name, key, err)
		}
		r.created[key] = time.Now()
	}
	ticker.Stop()
	var last time.Time
	for i, l := range legs {
		select {
		case last = <-done[i]:
		case <-time.After(10 * time.Minute):
			b.Fatalf("%s: %d of %d objects arrived in the %s after 10 minutes", name, l.copies.Count(prefix), objects, l.name)
		}
	}
	elapsed := last.Sub(first)
	r.cpu = measure.NetOfIdle(cpuBefore, c.procs.CPUTimes(b), idle, elapsed)
	r.requests = map[string]float64{}
	var report strings.Builder
	fmt.Fprintf(&report, "%s: %d objects at %d/s, the last arrived %s after the first create\n  CPU per object net of idle, ms (idle ms/s):", name, objects, rate, elapsed.Round(time.Millisecond))
	for _, role := range slices.Sorted(maps.Keys(r.cpu)) {
		fmt.Fprintf(&report, " %s %.2f (%.0f),", role, r.cpuPerObject(role), idle[role])
	}
	for _, role := range slices.Sorted(maps.Keys(c.servers)) {
		after := measure.RequestTotals(b, c.servers[role])
		r.requests[role] = measure.RequestsPerObject(requestsBefore[role], after, objects)
		fmt.Fprintf(&report, "\n  requests per object served by %s:\n%s", role, measure.PerObject(requestsBefore[role], after, objects))
	}
	b.Log(report.String())

	for _, l := range legs {
		r.arrived[l.name] = make(map[string]time.Time, objects)
		for key, at := range r.created {
			seen, _ := l.copies.SeenAt(key)
			r.arrived[l.name][key] = seen
			r.latencies[l.name] = append(r.latencies[l.name], float64(seen.Sub(at).Microseconds())/1000)
		}
		lat := r.latencies[l.name]
		b.Logf("%s: create -> %s at %d/s: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms", name, l.name, rate,
			measure.Quantile(lat, 0.5), measure.Quantile(lat, 0.9), measure.Quantile(lat, 0.99), measure.Quantile(lat, 1))
	}
	return r
}

// creator is a client without a client-side rate limit for gvr in namespace of the cluster cfg
// reaches.
func creator(b *testing.B, cfg *rest.Config, gvr schema.GroupVersionResource, namespace string) dynamic.ResourceInterface {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = -1
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return c.Resource(gvr).Namespace(namespace)
}

// database is a Database of gvr named name.
func database(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	return framework.Database(gvr.GroupVersion().WithKind("Database"), "", name)
}
