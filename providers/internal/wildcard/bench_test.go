package wildcard

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"

	kcpcache "github.com/kcp-dev/apimachinery/v2/pkg/cache"
	kcpinformers "github.com/kcp-dev/apimachinery/v2/third_party/informers"
)

// BenchmarkDispatch measures the cost of one informer event and the heap per engaged cluster, with
// 3 controllers (event handlers) per cluster, for two ways of scoping a shared wildcard informer:
//
//   - routed: this package; one handler on the informer dispatches by logical cluster;
//   - per-cluster: one filtering handler per cluster and controller on the informer, through kcp's
//     scoped informer (Cluster(name).AddEventHandler), as kcp-dev/multicluster-provider does.
//
// Events are ConfigMap updates fed through a fake watch, round-robin over the clusters; ns/op is
// the time from sending an event until the 3 handlers of its cluster have seen it, amortised over
// b.N events. heap-B/cluster is the live heap added by engaging one cluster.
func BenchmarkDispatch(b *testing.B) {
	const controllers = 3
	for _, clusters := range []int{10, 1000, 10000} {
		for _, mode := range []string{"routed", "per-cluster"} {
			b.Run(fmt.Sprintf("%s/clusters=%d", mode, clusters), func(b *testing.B) {
				f := fixtures.get(b, mode, clusters, controllers)
				f.dispatch(b)
				b.ReportMetric(f.heapPerCluster, "heap-B/cluster")
			})
		}
		fixtures.release()
	}
}

// dispatchFixture is a running informer with clusters x controllers handlers registered. It is
// built once per sub-benchmark and reused across the b.N rounds the testing package runs.
type dispatchFixture struct {
	server         *fakeServer
	objects        []*corev1.ConfigMap
	delivered      atomic.Int64
	target         atomic.Int64
	done           chan struct{}
	heapPerCluster float64
	stop           context.CancelFunc
}

type fixtureCache struct{ byName map[string]*dispatchFixture }

var fixtures = &fixtureCache{byName: map[string]*dispatchFixture{}}

func (c *fixtureCache) get(b *testing.B, mode string, clusters, controllers int) *dispatchFixture {
	key := fmt.Sprintf("%s/%d", mode, clusters)
	if f, ok := c.byName[key]; ok {
		return f
	}
	b.StopTimer()
	defer b.StartTimer()
	f := newDispatchFixture(b, mode, clusters, controllers)
	c.byName[key] = f
	return f
}

// release stops the fixtures so that their handlers and goroutines do not weigh on the next size.
func (c *fixtureCache) release() {
	for key, f := range c.byName {
		f.stop()
		delete(c.byName, key)
	}
	runtime.GC()
}

func newDispatchFixture(b *testing.B, mode string, clusters, controllers int) *dispatchFixture {
	f := &dispatchFixture{server: newFakeServer()}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	for i := range clusters {
		f.objects = append(f.objects, configMap(clusterName(i), "ns", "cm", nil, nil))
	}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { f.count() },
		UpdateFunc: func(_, _ any) { f.count() },
	}

	switch mode {
	case "routed":
		c, err := New(testConfig(), Options{Mapper: testMapper(), NewListWatch: f.server.listWatch})
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = c.Start(ctx) }()
		// The shared informer exists before the first cluster, as in both modes.
		if _, err := c.ForCluster("warm-up").GetInformer(ctx, &corev1.ConfigMap{}); err != nil {
			b.Fatal(err)
		}
		before := liveHeap()
		// Engaging a cluster as the providers do: a cluster view, its informer, 3 controllers.
		for i := range clusters {
			cl := c.NewCluster(logicalcluster.Name(clusterName(i)))
			inf, err := cl.GetCache().GetInformer(ctx, &corev1.ConfigMap{})
			if err != nil {
				b.Fatal(err)
			}
			for range controllers {
				if _, err := inf.AddEventHandler(handler); err != nil {
					b.Fatal(err)
				}
			}
		}
		f.heapPerCluster = float64(liveHeap()-before) / float64(clusters)
	case "per-cluster":
		lw, _ := f.server.listWatch(corev1.SchemeGroupVersion.WithKind("ConfigMap"), nil)
		inf := kcpinformers.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, toolscache.Indexers{
			kcpcache.ClusterIndexName:             kcpcache.ClusterIndexFunc,
			kcpcache.ClusterAndNamespaceIndexName: kcpcache.ClusterAndNamespaceIndexFunc,
		})
		go inf.RunWithContext(ctx)
		toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
		before := liveHeap()
		for i := range clusters {
			scoped := inf.Cluster(logicalcluster.Name(clusterName(i)))
			for range controllers {
				if _, err := scoped.AddEventHandler(handler); err != nil {
					b.Fatal(err)
				}
			}
		}
		f.heapPerCluster = float64(liveHeap()-before) / float64(clusters)
	}
	return f
}

func (f *dispatchFixture) count() {
	if f.delivered.Add(1) == f.target.Load() {
		close(f.done)
	}
}

// dispatch sends b.N updates and waits until every matching handler has seen them.
func (f *dispatchFixture) dispatch(b *testing.B) {
	const controllers = 3
	f.done = make(chan struct{})
	f.delivered.Store(0)
	f.target.Store(int64(b.N * controllers))
	b.ResetTimer()
	for i := range b.N {
		f.server.watcher.Modify(f.objects[i%len(f.objects)])
	}
	select {
	case <-f.done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d deliveries arrived", f.delivered.Load(), f.target.Load())
	}
	b.StopTimer()
}

func clusterName(i int) string { return fmt.Sprintf("cluster-%05d", i) }

// liveHeap returns the heap in use after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
