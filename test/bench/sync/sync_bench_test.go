package syncbench

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/bench/internal/agentfixture"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

const (
	internalGroup  = agentfixture.InternalGroup
	publishedGroup = agentfixture.PublishedGroup
	workspaces     = 10
	objects        = 1000 // created across the workspaces, for throughput
	steadyRate     = 20   // objects per second, for latency
	steadyObjects  = 200
)

// BenchmarkSync measures, in one run (b.N is ignored; run with -benchtime=1x):
//   - raw-objects/s: creating 1000 objects across 10 workspaces in kcp, with no agent involved;
//   - sync-objects/s: creating 1000 objects across 10 other workspaces until every copy exists
//     in the provider cluster and every status is back, with a fake operator setting status;
//   - sync/raw: the ratio of the two (target at least 0.5);
//   - p50-ms, p99-ms: from create in kcp to the copy appearing in the provider cluster, for 200
//     objects created at a steady 20 per second (target: p99 under 1 s);
//   - kcp-cpu-ms/raw-obj, kcp-cpu-ms/sync-obj: kcp's CPU time (etcd included) per object in each
//     phase, and agent-cpu-ms/sync-obj the agent's: where the time goes when kcp is the bottleneck;
//   - agent-peak-RSS-MB: the agent process's peak resident memory.
func BenchmarkSync(b *testing.B) { benchmarkSync(b) }

// BenchmarkSyncWarningEventsOnly is BenchmarkSync with --consumer-events=warnings: the agent
// writes no progress events (Synced, Accepted, Placed) on consumers' objects, only problems.
func BenchmarkSyncWarningEventsOnly(b *testing.B) { benchmarkSync(b, "--consumer-events=warnings") }

func benchmarkSync(b *testing.B, agentArgs ...string) {
	ctx := framework.Context(b)
	kube := framework.StartKube(b, "deploy/crd")
	provider := framework.NewClient(b, kube.Config())
	if err := provider.Create(ctx, agentfixture.CRD()); err != nil {
		b.Fatal(err)
	}
	providerWS := framework.NewWorkspace(b, "bench-provider")
	args := append([]string{
		"--kcp-kubeconfig", framework.WriteKubeconfig(b, "kcp", providerWS.Config),
		"--kubeconfig", framework.WriteKubeconfig(b, "provider", kube.Config()),
		"--apiexport-endpoint-slice", "bench", "--agent-name", "bench",
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
	}, agentArgs...)
	agent := framework.StartProcess(b, "agent", framework.Binary(b, "./cmd/bindery-syncagent"), args...)
	if err := provider.Create(ctx, agentfixture.PublishedResource()); err != nil {
		b.Fatal(err)
	}
	agentfixture.WaitForSynced(b, provider, time.Minute)
	seen := watchCopies(b, kube)

	rawClients := rawWorkspaces(b)
	consumers := make([]*framework.Workspace, workspaces)
	syncClients := make([]client.Client, workspaces)
	for i := range consumers {
		ws := framework.NewWorkspace(b, "bench-consumer")
		framework.Bind(b, ws, providerWS.Path, "bench",
			framework.Claim("", "events", "create", "patch", "update"),
			framework.Claim("", "namespaces", "create", "get", "list", "watch"))
		framework.CreateWhenServed(b, ws.Client, agentfixture.Object(publishedGroup, "Database", "warm-up"))
		consumers[i], syncClients[i] = ws, ws.Client
	}
	ready := countReady(b, consumers)
	b.ResetTimer()

	kcp := cpuMeter(b, framework.KCP(b).Pid())
	raw := createAll(b, rawClients, "widget", framework.WidgetGVR("raw.bench.example.com").Group, "Widget")
	rawKCP := kcp()
	agentCPU := cpuMeter(b, agent.Pid())
	requests := requestCounter(b)
	start := time.Now()
	createAll(b, syncClients, "db", publishedGroup, "Database")
	waitForAllReady(b, ready, objects+workspaces) // plus one warm-up object per workspace
	synced := time.Since(start)
	syncKCP, syncAgent := kcp(), agentCPU()
	b.Logf("kcp requests per synced object during the sync phase:\n%s", requests())
	b.Logf("events on the objects of one consumer workspace, by reason: %s", eventsByReason(b, consumers[0]))

	latencies := steadyLatencies(b, consumers, seen)
	b.StopTimer()

	rss, err := agent.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	rawRate := float64(objects) / raw.Seconds()
	syncRate := float64(objects) / synced.Seconds()
	b.ReportMetric(rawRate, "raw-objects/s")
	b.ReportMetric(syncRate, "sync-objects/s")
	b.ReportMetric(syncRate/rawRate, "sync/raw")
	b.ReportMetric(perObject(rawKCP), "kcp-cpu-ms/raw-obj")
	b.ReportMetric(perObject(syncKCP), "kcp-cpu-ms/sync-obj")
	b.ReportMetric(perObject(syncAgent), "agent-cpu-ms/sync-obj")
	b.ReportMetric(percentile(latencies, 50), "p50-ms")
	b.ReportMetric(percentile(latencies, 99), "p99-ms")
	b.ReportMetric(float64(rss)/(1<<20), "agent-peak-RSS-MB")
}

// cpuMeter returns a function that reports the CPU time a process used since the last call (or
// since cpuMeter). kcp runs etcd in its own process, so its CPU time is all of kcp's work.
func cpuMeter(b *testing.B, pid int) func() time.Duration {
	read := func() time.Duration {
		t, err := servers.CPUTime(pid)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	last := read()
	return func() time.Duration {
		now := read()
		used := now - last
		last = now
		return used
	}
}

// perObject is a phase's CPU time per object, in milliseconds.
func perObject(cpu time.Duration) float64 {
	return float64(cpu.Microseconds()) / 1000 / objects
}

// rawWorkspaces binds a plain Widget export (no agent) into 10 workspaces.
func rawWorkspaces(b *testing.B) []client.Client {
	group := framework.WidgetGVR("raw.bench.example.com").Group
	rawProvider := framework.NewWorkspace(b, "bench-raw")
	framework.ExportWidgets(b, rawProvider, "widgets", group)
	clients := make([]client.Client, workspaces)
	for i := range clients {
		ws := framework.NewWorkspace(b, "bench-raw-consumer")
		framework.Bind(b, ws, rawProvider.Path, "widgets")
		framework.CreateWhenServed(b, ws.Client, framework.NewWidget(group, "default", "warm-up", "small"))
		clients[i] = ws.Client
	}
	return clients
}

// createAll creates objects/workspaces objects in each workspace, one creator per workspace, and
// returns how long that took.
func createAll(b *testing.B, clients []client.Client, prefix, group, kind string) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	for _, c := range clients {
		wg.Go(func() {
			for i := range objects / len(clients) {
				if err := c.Create(context.Background(), agentfixture.Object(group, kind, fmt.Sprintf("%s-%04d", prefix, i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("creating %s objects: %v", kind, err)
	}
	return time.Since(start)
}

// firstSeen records when the copy of each source object first appeared in the provider cluster.
type firstSeen struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (f *firstSeen) record(sourceHash string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.at[sourceHash]; !ok {
		f.at[sourceHash] = time.Now()
	}
}

func (f *firstSeen) get(sourceHash string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[sourceHash]
	return t, ok
}

// watchCopies acts as the provider's operator (it sets status.phase=Ready on every new copy) and
// records when each copy first appeared.
func watchCopies(b *testing.B, kube *servers.Kube) *firstSeen {
	ctx := framework.Context(b)
	seen := &firstSeen{at: map[string]time.Time{}}
	copies, err := cache.New(kube.Config(), cache.Options{Scheme: framework.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(internalGroup + "/v1")
	obj.SetKind("PostgresCluster")
	informer, err := copies.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		b.Fatal(err)
	}
	pending := make(chan *unstructured.Unstructured, 2*objects)
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: func(o any) {
		u := o.(*unstructured.Unstructured)
		seen.record(u.GetLabels()[syncengine.SourceLabel])
		pending <- u.DeepCopy()
	}}); err != nil {
		b.Fatal(err)
	}
	operator := framework.NewClient(b, kube.Config())
	for range 8 {
		go func() {
			for u := range pending {
				u.Object["status"] = map[string]any{"phase": "Ready"}
				for ctx.Err() == nil {
					err := operator.Status().Update(ctx, u)
					if err == nil || apierrors.IsNotFound(err) {
						break
					}
					if apierrors.IsConflict(err) {
						_ = operator.Get(ctx, client.ObjectKeyFromObject(u), u)
						u.Object["status"] = map[string]any{"phase": "Ready"}
					}
				}
			}
		}()
	}
	go func() { _ = copies.Start(ctx) }()
	if !copies.WaitForCacheSync(ctx) {
		b.Fatal("the copies' cache did not sync")
	}
	return seen
}

// readyCounter counts the consumer objects whose status came back, from a watch per workspace
// (polling lists would load kcp as much as the sync being measured).
type readyCounter struct {
	mu    sync.Mutex
	ready map[string]bool
}

func countReady(b *testing.B, consumers []*framework.Workspace) *readyCounter {
	ctx := framework.Context(b)
	counter := &readyCounter{ready: map[string]bool{}}
	for _, ws := range consumers {
		c, err := cache.New(ws.Config, cache.Options{Scheme: framework.Scheme})
		if err != nil {
			b.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion(publishedGroup + "/v1")
		obj.SetKind("Database")
		informer, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			b.Fatal(err)
		}
		cluster := ws.Cluster.String()
		record := func(o any) {
			u := o.(*unstructured.Unstructured)
			if phase, _, _ := unstructured.NestedString(u.Object, "status", "phase"); phase == "Ready" {
				counter.mu.Lock()
				counter.ready[cluster+"/"+u.GetName()] = true
				counter.mu.Unlock()
			}
		}
		if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: record, UpdateFunc: func(_, o any) { record(o) },
		}); err != nil {
			b.Fatal(err)
		}
		go func() { _ = c.Start(ctx) }()
		if !c.WaitForCacheSync(ctx) {
			b.Fatal("consumer cache did not sync")
		}
	}
	return counter
}

func (r *readyCounter) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ready)
}

// waitForAllReady waits until every Database in every workspace has status.phase=Ready.
func waitForAllReady(b *testing.B, counter *readyCounter, want int) {
	framework.WaitFor(b, 10*time.Minute, "every status to be back", func(context.Context) (bool, string, error) {
		n := counter.count()
		return n >= want, fmt.Sprintf("%d of %d ready", n, want), nil
	})
}

// steadyLatencies creates objects at a steady rate and returns, in milliseconds, how long each
// took from its create in kcp until its copy appeared in the provider cluster.
func steadyLatencies(b *testing.B, consumers []*framework.Workspace, seen *firstSeen) []float64 {
	ctx := framework.Context(b)
	created := map[string]time.Time{}
	ticker := time.NewTicker(time.Second / steadyRate)
	defer ticker.Stop()
	for i := range steadyObjects {
		<-ticker.C
		ws := consumers[i%len(consumers)]
		name := fmt.Sprintf("steady-%04d", i)
		if err := ws.Client.Create(ctx, agentfixture.Object(publishedGroup, "Database", name)); err != nil {
			b.Fatal(err)
		}
		created[syncengine.Source{Cluster: ws.Cluster.String(), Namespace: "default", Name: name}.Hash()] = time.Now()
	}
	var latencies []float64
	framework.WaitFor(b, 5*time.Minute, "every steady object's copy", func(context.Context) (bool, string, error) {
		latencies = latencies[:0]
		for hash, at := range created {
			copied, ok := seen.get(hash)
			if !ok {
				return false, fmt.Sprintf("%d of %d copied", len(latencies), len(created)), nil
			}
			latencies = append(latencies, float64(copied.Sub(at).Microseconds())/1000)
		}
		return true, "", nil
	})
	return latencies
}

// percentile returns the p-th percentile (nearest rank) of values.
func percentile(values []float64, p int) float64 {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank-1, 0)]
}

// requestCounter returns a function that reports, per verb and resource, how many requests kcp
// served since requestCounter, divided by the number of objects: what each synced object costs
// kcp, from kcp's own apiserver_request_total metric.
func requestCounter(b *testing.B) func() string {
	cfg, err := framework.KCP(b).ShardAdminConfig()
	if err != nil {
		b.Fatal(err)
	}
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	scrape := func() map[string]float64 {
		resp, err := c.Get(cfg.Host + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		counts := map[string]float64{}
		scanner := bufio.NewScanner(resp.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			line := scanner.Text()
			if !strings.HasPrefix(line, "apiserver_request_total{") {
				continue
			}
			value, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				continue
			}
			counts[label(line, "verb")+" "+label(line, "resource")+"/"+label(line, "subresource")] += value
		}
		return counts
	}
	before := scrape()
	return func() string {
		after := scrape()
		var lines []string
		for key, n := range after {
			if per := (n - before[key]) / objects; per >= 0.05 {
				lines = append(lines, fmt.Sprintf("  %-40s %.2f", strings.TrimSuffix(key, "/"), per))
			}
		}
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
}

// label returns a Prometheus label's value from a metric line.
func label(line, name string) string {
	i := strings.Index(line, name+`="`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

// eventsByReason counts the events in a workspace by reason (with their repeat counts), so that the
// log says which events the requests per object went into.
func eventsByReason(b *testing.B, ws *framework.Workspace) string {
	b.Helper()
	events := &corev1.EventList{}
	if err := ws.Client.List(framework.Context(b), events); err != nil {
		return err.Error()
	}
	counts := map[string]int32{}
	for _, e := range events.Items {
		counts[e.Type+"/"+e.Reason] += max(e.Count, 1)
	}
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}
