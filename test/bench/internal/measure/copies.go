package measure

import (
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
)

// Copies records when each object of a kind first appears in a cluster, from an informer, keyed
// by a name the benchmark gives it (the name of the object it copies, say), and tells when a run
// of keys with a common prefix is complete.
type Copies struct {
	key     func(*unstructured.Unstructured) string
	mu      sync.Mutex
	seen    map[string]time.Time
	waiters []*waiter
}

type waiter struct {
	prefix string
	want   int
	got    int
	done   chan time.Time // receives when the want-th key with the prefix was seen
}

// WatchCopies starts an informer on gvr in namespace ("" for all) of the cluster cfg reaches,
// until the test's cleanup; key names each object.
func WatchCopies(t testing.TB, cfg *rest.Config, gvr schema.GroupVersionResource, namespace string, key func(*unstructured.Unstructured) string) *Copies {
	t.Helper()
	c := &Copies{key: key, seen: map[string]time.Time{}}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	informer := dynamicinformer.NewFilteredDynamicInformer(client, gvr, namespace, 0, toolscache.Indexers{}, nil).Informer()
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.record(obj.(*unstructured.Unstructured), time.Now()) },
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go informer.Run(stop)
	if !toolscache.WaitForCacheSync(stop, informer.HasSynced) {
		t.Fatalf("the informer on %s at %s did not sync", gvr.Resource, cfg.Host)
	}
	return c
}

func (c *Copies) record(u *unstructured.Unstructured, at time.Time) {
	key := c.key(u)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[key]; ok {
		return
	}
	c.seen[key] = at
	for _, w := range c.waiters {
		if strings.HasPrefix(key, w.prefix) {
			if w.got++; w.got == w.want {
				w.done <- at
			}
		}
	}
}

// Await returns a channel that receives the time the n-th key starting with prefix was seen.
// Call it before the objects are created.
func (c *Copies) Await(prefix string, n int) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &waiter{prefix: prefix, want: n, done: make(chan time.Time, 1)}
	for key := range c.seen {
		if strings.HasPrefix(key, prefix) {
			w.got++
		}
	}
	if w.got >= n {
		w.done <- time.Now()
	}
	c.waiters = append(c.waiters, w)
	return w.done
}

// SeenAt is when the object keyed key was first seen.
func (c *Copies) SeenAt(key string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.seen[key]
	return at, ok
}

// Count is how many keys starting with prefix were seen.
func (c *Copies) Count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for key := range c.seen {
		if strings.HasPrefix(key, prefix) {
			n++
		}
	}
	return n
}
