package konnectorbench

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/servers"
)

// phase is the testing.TB one system's pass runs under: what framework helpers register with
// Cleanup (servers, processes, contexts, temporary folders) is undone when the pass ends, so the
// next system starts on a quiet machine. If the pass fails, the benchmark's own cleanup undoes it.
type phase struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func newPhase(b *testing.B) *phase {
	p := &phase{TB: b}
	b.Cleanup(p.end)
	return p
}

func (p *phase) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

func (p *phase) TempDir() string {
	dir, err := os.MkdirTemp("", "bindery-bench-konnector-")
	if err != nil {
		p.Fatal(err)
	}
	p.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// end runs the cleanups, last registered first; a second call does nothing.
func (p *phase) end() {
	p.mu.Lock()
	cleanups := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
}

// copyWatch records when each copy first appears on the provider, from an informer, keyed by the
// name of the object it copies, and tells when a run of names ("db-", "lat-") is complete.
type copyWatch struct {
	mu      sync.Mutex
	seen    map[string]time.Time
	counts  map[string]int // copies seen per name prefix
	waiters map[string]*waiter
}

type waiter struct {
	want int
	done chan time.Time // receives when the want-th copy of the prefix was seen
}

// watchCopies starts an informer on the provider's copies in namespace until the pass ends.
func watchCopies(p *phase, provider *rest.Config, gvr schema.GroupVersionResource, namespace string) *copyWatch {
	w := &copyWatch{seen: map[string]time.Time{}, counts: map[string]int{}, waiters: map[string]*waiter{}}
	client, err := dynamic.NewForConfig(provider)
	if err != nil {
		p.Fatal(err)
	}
	informer := dynamicinformer.NewFilteredDynamicInformer(client, gvr, namespace, 0, toolscache.Indexers{}, nil).Informer()
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.record(obj.(*unstructured.Unstructured), time.Now()) },
	}); err != nil {
		p.Fatal(err)
	}
	stop := make(chan struct{})
	p.Cleanup(func() { close(stop) })
	go informer.Run(stop)
	if !toolscache.WaitForCacheSync(stop, informer.HasSynced) {
		p.Fatalf("the informer on the provider's %s did not sync", gvr.Resource)
	}
	return w
}

// sourceName is the name of the consumer's object a copy stands for: bindery marks it in an
// annotation (its copies' names are its own), kube-bind and the raw creates keep the name.
func sourceName(u *unstructured.Unstructured) string {
	if name := u.GetAnnotations()[syncengine.SourceNameAnnotation]; name != "" {
		return name
	}
	return u.GetName()
}

func prefixOf(name string) string {
	if i := strings.IndexByte(name, '-'); i >= 0 {
		return name[:i+1]
	}
	return name
}

func (w *copyWatch) record(u *unstructured.Unstructured, at time.Time) {
	name := sourceName(u)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.seen[name]; ok {
		return
	}
	w.seen[name] = at
	prefix := prefixOf(name)
	w.counts[prefix]++
	if wt := w.waiters[prefix]; wt != nil && w.counts[prefix] == wt.want {
		wt.done <- at
	}
}

// await returns a channel that receives the time the n-th copy of names starting with prefix
// (up to and including its first '-') was seen. Call it before the objects are created.
func (w *copyWatch) await(prefix string, n int) <-chan time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt := &waiter{want: n, done: make(chan time.Time, 1)}
	w.waiters[prefix] = wt
	if w.counts[prefix] >= n {
		wt.done <- time.Now()
	}
	return wt.done
}

func (w *copyWatch) seenAt(name string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.seen[name]
	return t, ok
}

func (w *copyWatch) count(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[prefix]
}

// processes are the pids whose CPU time a pass measures, by role.
type processes map[string]int

// cpuTimes reads every process's CPU time so far.
func (ps processes) cpuTimes(t testing.TB) map[string]time.Duration {
	times := make(map[string]time.Duration, len(ps))
	for role, pid := range ps {
		d, err := servers.CPUTime(pid)
		if err != nil {
			t.Fatalf("CPU time of %s (pid %d): %v", role, pid, err)
		}
		times[role] = d
	}
	return times
}

// serverProcesses finds the kube-apiserver serving cfg and the etcd behind it among this
// process's children (envtest starts both), from their command lines.
func serverProcesses(t testing.TB, cluster string, cfg *rest.Config, into processes) {
	t.Helper()
	host, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	args := commandLines(t)
	apiserver, etcdURL := 0, ""
	for pid, argv := range args {
		if filepath.Base(argv[0]) == "kube-apiserver" && slices.Contains(argv, "--secure-port="+host.Port()) {
			apiserver = pid
			for _, a := range argv {
				if v, ok := strings.CutPrefix(a, "--etcd-servers="); ok {
					etcdURL = v
				}
			}
		}
	}
	if apiserver == 0 || etcdURL == "" {
		t.Fatalf("no kube-apiserver with --secure-port=%s and --etcd-servers among the processes", host.Port())
	}
	for pid, argv := range args {
		if filepath.Base(argv[0]) == "etcd" && slices.Contains(argv, "--listen-client-urls="+etcdURL) {
			into[cluster+" kube-apiserver"], into[cluster+" etcd"] = apiserver, pid
			return
		}
	}
	t.Fatalf("no etcd with --listen-client-urls=%s among the processes", etcdURL)
}

// commandLines returns the argv of every child of this process (from each thread's list of
// children: Go starts processes from any of its threads).
func commandLines(t testing.TB) map[int][]string {
	lists, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]string{}
	for _, list := range lists {
		data, err := os.ReadFile(list)
		if err != nil {
			continue // the thread ended
		}
		for _, field := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				continue
			}
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err != nil || len(cmdline) == 0 {
				continue
			}
			out[pid] = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		}
	}
	if len(out) == 0 {
		t.Fatal("no child processes in /proc/self/task/*/children (a kernel without CONFIG_PROC_CHILDREN?)")
	}
	return out
}

// requestTotals reads a kube-apiserver's apiserver_request_total, summed by verb and
// resource/subresource.
func requestTotals(t testing.TB, cfg *rest.Config) map[string]float64 {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	metrics := strings.TrimSuffix(cfg.Host, "/") + "/metrics"
	resp, err := httpClient.Get(metrics)
	if err != nil {
		t.Fatalf("scraping %s: %v", metrics, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s", metrics, resp.Status)
	}
	totals := map[string]float64{}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), "apiserver_request_total{")
		if !ok {
			continue
		}
		labelText, valueText, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		value, err := strconv.ParseFloat(valueText, 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, pair := range strings.Split(labelText, ",") {
			if k, v, ok := strings.Cut(pair, "="); ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
		key := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		totals[key] += value
	}
	return totals
}

// perObject formats the requests served between two scrapes, per object of the pass, leaving
// out what came to less than one request per 20 objects.
func perObject(before, after map[string]float64, objects int) string {
	var lines []string
	total := 0.0
	for key, n := range after {
		per := (n - before[key]) / float64(objects)
		total += per
		if per >= 0.05 {
			lines = append(lines, fmt.Sprintf("    %-44s %6.2f", key, per))
		}
	}
	slices.Sort(lines)
	return strings.Join(append(lines, fmt.Sprintf("    %-44s %6.2f", "all", total)), "\n")
}

// quantile returns the q-quantile (0 < q <= 1, nearest rank) of values.
func quantile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(values))
	rank := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
