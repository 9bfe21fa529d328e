package konnectorbench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/bindery-dev/bindery/test/bench/internal/measure"
	"github.com/bindery-dev/bindery/test/framework"
)

// The workload, the same for every system.
const (
	objects  = 1000 // created for throughput, in one consumer namespace
	creators = 10   // parallel clients that create them, as fast as they can
	// steadyRate objects per second for steadyObjects, for latency.
	steadyRate    = 20
	steadyObjects = 200
)

// BenchmarkKonnector measures, in one run (b.N is ignored; run with -benchtime=1x), three systems
// one after the other, each on its own fresh pair of kube-apiservers (provider and consumer):
//
//   - raw: the 1000 creates straight against the provider kube-apiserver;
//   - konnector: bindery-konnector syncing the 1000 objects created in the consumer cluster;
//   - kube-bind: kube-bind's konnector v0.8.2 syncing the same workload.
//
// Each pass reports <system>-objects/s (from the first create until the provider shows the
// 1000th copy, or the 1000th object for raw) and, for 200 objects created at 20 per second,
// <system>-p50-ms and -p99-ms from the create returning until the copy appears on the provider.
// The ratios konnector/raw (target at least 0.5) and konnector/kube-bind (target at least 2), the
// konnector's p99 (target under 100 ms), the CPU time per synced object of each konnector and
// of each cluster's kube-apiserver plus etcd (net of each process's idle rate, taken over 5 s
// before the creates), and each konnector's peak RSS come with them; the -v log has the requests
// each cluster served per object and the CPU of every process.
// ns/op is the wall time of the three passes (kube-bind's build, cached, is not in it).
func BenchmarkKonnector(b *testing.B) {
	kubeBind := buildKubeBind(b) // first: a peer that cannot be built fails the run before anything starts
	b.ResetTimer()
	raw := run(b, "raw", startRaw)
	bindery := run(b, "konnector", startBindery)
	peer := run(b, "kube-bind", kubeBind.start)
	b.StopTimer()

	for _, r := range []result{raw, bindery, peer} {
		b.ReportMetric(r.rate, r.system+"-objects/s")
		b.ReportMetric(r.p50, r.system+"-p50-ms")
		b.ReportMetric(r.p99, r.system+"-p99-ms")
		b.ReportMetric(r.cpuPerObject("provider kube-apiserver", "provider etcd"), r.system+"-provider-cpu-ms/obj")
		if r.system == "raw" {
			continue
		}
		b.ReportMetric(r.cpuPerObject("konnector"), r.system+"-cpu-ms/obj")
		b.ReportMetric(r.cpuPerObject("consumer kube-apiserver", "consumer etcd"), r.system+"-consumer-cpu-ms/obj")
		b.ReportMetric(float64(r.peakRSS)/(1<<20), r.system+"-peak-RSS-MB")
	}
	b.ReportMetric(bindery.rate/raw.rate, "konnector/raw")
	b.ReportMetric(bindery.rate/peer.rate, "konnector/kube-bind")
}

// result is one system's pass.
type result struct {
	system string
	// rate is objects per second; p50 and p99 the create-to-copy latency in ms.
	rate, p50, p99 float64
	// cpu is each process's CPU time during the throughput phase, net of its idle rate.
	cpu     map[string]time.Duration
	peakRSS int64
}

func (r result) cpuPerObject(roles ...string) float64 {
	var sum time.Duration
	for _, role := range roles {
		sum += r.cpu[role]
	}
	return float64(sum.Microseconds()) / 1000 / objects
}

// run sets a system up with start, measures throughput and latency, and tears it down.
func run(b *testing.B, system string, start func(*phase) *target) result {
	p := newPhase(b)
	defer p.end()
	began := time.Now()
	t := start(p)
	b.Logf("%s: set up and warmed up in %s", system, time.Since(began).Round(100*time.Millisecond))
	r := result{system: system}
	idle := t.procs.IdleRates(p, idleWindow)

	requestsBefore := map[string]map[string]float64{}
	for role, cfg := range t.servers {
		requestsBefore[role] = measure.RequestTotals(p, cfg)
	}
	cpuBefore := t.procs.CPUTimes(p)
	all := t.copies.Await("db-", objects)
	first := time.Now()
	createAll(p, t)
	var last time.Time
	select {
	case last = <-all:
	case <-time.After(30 * time.Minute):
		p.Fatalf("%s: %d of %d copies on the provider after 30 minutes", system, t.copies.Count("db-"), objects)
	}
	elapsed := last.Sub(first)
	r.rate = objects / elapsed.Seconds()
	cpuAfter := t.procs.CPUTimes(p)
	r.cpu = measure.NetOfIdle(cpuBefore, cpuAfter, idle, elapsed)
	var report strings.Builder
	fmt.Fprintf(&report, "%s: %d objects in %s (%.1f objects/s)\n  CPU per object net of idle, ms (idle ms/s):", system, objects, elapsed.Round(time.Millisecond), r.rate)
	for _, role := range slices.Sorted(maps.Keys(cpuAfter)) {
		fmt.Fprintf(&report, " %s %.2f (%.0f),", role, r.cpuPerObject(role), idle[role])
	}
	for _, role := range []string{"provider", "consumer"} {
		fmt.Fprintf(&report, "\n  requests per object served by the %s kube-apiserver:\n%s", role, measure.PerObject(requestsBefore[role], measure.RequestTotals(p, t.servers[role]), objects))
	}
	b.Log(report.String())

	latencies := steadyLatencies(p, t)
	r.p50, r.p99 = measure.Quantile(latencies, 0.50), measure.Quantile(latencies, 0.99)
	b.Logf("%s: create -> copy at %d/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms", system, steadyRate, r.p50, r.p99, measure.Quantile(latencies, 1))
	if t.konnector != nil {
		rss, err := t.konnector.PeakRSS()
		if err != nil {
			p.Fatal(err)
		}
		r.peakRSS = rss
	}
	return r
}

// idleWindow is how long each pass watches its processes idle before the throughput phase.
const idleWindow = 5 * time.Second

// creatorClient is the client every system's objects are created with: no client-side rate limit.
func creatorClient(p *phase, cfg *rest.Config) *dynamic.DynamicClient {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = -1
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		p.Fatal(err)
	}
	return c
}

// createAll creates the 1000 objects with 10 parallel clients, each its share in turn.
func createAll(p *phase, t *target) {
	var wg sync.WaitGroup
	errs := make(chan error, creators)
	for c := range creators {
		resource := creatorClient(p, t.create).Resource(t.gvr).Namespace(consumerNamespace)
		wg.Go(func() {
			for i := c; i < objects; i += creators {
				obj := database(t.gvr, fmt.Sprintf("db-%04d", i))
				if _, err := resource.Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("creating %s: %w", obj.GetName(), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		p.Fatal(err)
	}
}

// steadyLatencies creates objects at a steady rate from one client and returns, in milliseconds,
// how long each took from its create returning until its copy appeared on the provider.
func steadyLatencies(p *phase, t *target) []float64 {
	ctx := framework.Context(p)
	resource := creatorClient(p, t.create).Resource(t.gvr).Namespace(consumerNamespace)
	all := t.copies.Await("lat-", steadyObjects)
	created := make(map[string]time.Time, steadyObjects)
	ticker := time.NewTicker(time.Second / steadyRate)
	defer ticker.Stop()
	for i := range steadyObjects {
		<-ticker.C
		name := fmt.Sprintf("lat-%04d", i)
		if _, err := resource.Create(ctx, database(t.gvr, name), metav1.CreateOptions{}); err != nil {
			p.Fatalf("creating %s: %v", name, err)
		}
		created[name] = time.Now()
	}
	select {
	case <-all:
	case <-time.After(10 * time.Minute):
		p.Fatalf("%d of %d steady objects copied after 10 minutes", t.copies.Count("lat-"), steadyObjects)
	}
	latencies := make([]float64, 0, steadyObjects)
	for name, at := range created {
		copied, _ := t.copies.SeenAt(name)
		latencies = append(latencies, float64(copied.Sub(at).Microseconds())/1000)
	}
	return latencies
}
