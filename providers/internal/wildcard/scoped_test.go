package wildcard

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// recorder is an event handler that remembers "<verb> <cluster>/<namespace>/<name>".
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) record(verb string, obj any) {
	cm := obj.(*corev1.ConfigMap)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, verb+" "+cm.Annotations["kcp.io/cluster"]+"/"+cm.Namespace+"/"+cm.Name)
}

func (r *recorder) OnAdd(obj any, _ bool) { r.record("add", obj) }
func (r *recorder) OnUpdate(_, obj any)   { r.record("update", obj) }
func (r *recorder) OnDelete(obj any)      { r.record("delete", obj) }
func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func waitForEvents(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return equalSorted(r.snapshot(), want), nil
	})
	if err != nil {
		t.Fatalf("events = %v, want %v", r.snapshot(), want)
	}
}

func equalSorted(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHandlersSeeOnlyTheirCluster(t *testing.T) {
	server := newFakeServer(configMap("a", "ns", "one", nil, nil), configMap("b", "ns", "one", nil, nil))
	c := newTestCache(t, server)
	ctx := context.Background()

	infA, err := c.ForCluster("a").GetInformer(ctx, &corev1.ConfigMap{})
	if err != nil {
		t.Fatal(err)
	}
	onA := &recorder{}
	reg, err := infA.AddEventHandler(onA)
	if err != nil {
		t.Fatal(err)
	}
	waitForEvents(t, onA, "add a/ns/one")
	if !reg.HasSynced() {
		t.Fatal("registration of a synced informer reports HasSynced false")
	}

	server.watcher.Add(configMap("b", "ns", "two", nil, nil))
	server.watcher.Add(configMap("a", "ns", "two", nil, nil))
	server.watcher.Modify(configMap("a", "ns", "one", nil, map[string]string{"k": "v"}))
	server.watcher.Delete(configMap("b", "ns", "one", nil, nil))
	waitForEvents(t, onA, "add a/ns/one", "add a/ns/two", "update a/ns/one")

	// A handler registered late still sees the cluster's objects, as a fresh informer would.
	late := &recorder{}
	infB, err := c.ForCluster("b").GetInformer(ctx, &corev1.ConfigMap{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := infB.AddEventHandler(late); err != nil {
		t.Fatal(err)
	}
	waitForEvents(t, late, "add b/ns/two")

	if err := infA.RemoveEventHandler(reg); err != nil {
		t.Fatal(err)
	}
	if err := infB.RemoveEventHandler(reg); err == nil {
		t.Fatal("removing cluster a's registration through cluster b's informer must fail")
	}
	server.watcher.Add(configMap("a", "ns", "three", nil, nil))
	server.watcher.Add(configMap("b", "ns", "three", nil, nil))
	waitForEvents(t, late, "add b/ns/two", "add b/ns/three")
	waitForEvents(t, onA, "add a/ns/one", "add a/ns/two", "update a/ns/one")
}

func TestGetAndListAreScoped(t *testing.T) {
	c := newTestCache(t, newFakeServer(
		configMap("a", "ns", "same-name", map[string]string{"app": "x"}, map[string]string{"from": "a"}),
		configMap("b", "ns", "same-name", map[string]string{"app": "x"}, map[string]string{"from": "b"}),
		configMap("a", "other", "extra", map[string]string{"app": "y"}, nil),
	))
	ctx := context.Background()
	a, b := c.ForCluster("a"), c.ForCluster("b")

	got := &corev1.ConfigMap{}
	if err := b.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "same-name"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Data["from"] != "b" {
		t.Fatalf("cluster b read cluster %s's object", got.Data["from"])
	}
	if err := b.Get(ctx, client.ObjectKey{Namespace: "other", Name: "extra"}, got); !apierrors.IsNotFound(err) {
		t.Fatalf("cluster b read an object of cluster a: err = %v", err)
	}

	for _, tc := range []struct {
		name string
		opts []client.ListOption
		want int
	}{
		{"all", nil, 2},
		{"namespace", []client.ListOption{client.InNamespace("other")}, 1},
		{"labels", []client.ListOption{client.MatchingLabels{"app": "x"}}, 1},
		{"limit", []client.ListOption{client.Limit(1)}, 1},
	} {
		list := &corev1.ConfigMapList{}
		if err := a.List(ctx, list, tc.opts...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(list.Items) != tc.want {
			t.Errorf("%s: cluster a listed %d objects, want %d", tc.name, len(list.Items), tc.want)
		}
		for _, item := range list.Items {
			if item.Annotations["kcp.io/cluster"] != "a" {
				t.Errorf("%s: cluster a listed %s of cluster %s", tc.name, item.Name, item.Annotations["kcp.io/cluster"])
			}
		}
	}
}

func TestIndexFieldIsPerClusterAndDeduplicated(t *testing.T) {
	c := newTestCache(t, newFakeServer(
		configMap("a", "ns", "one", nil, map[string]string{"size": "small"}),
		configMap("a", "other", "two", nil, map[string]string{"size": "small"}),
		configMap("b", "ns", "one", nil, map[string]string{"size": "small"}),
	))
	ctx := context.Background()
	bySize := func(obj client.Object) []string { return []string{obj.(*corev1.ConfigMap).Data["size"]} }
	// Asked for before the informer exists and again afterwards, as several controllers would.
	if err := c.ForCluster("a").IndexField(ctx, &corev1.ConfigMap{}, "data.size", bySize); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ForCluster("a").GetInformer(ctx, &corev1.ConfigMap{}); err != nil {
		t.Fatal(err)
	}
	if err := c.ForCluster("b").IndexField(ctx, &corev1.ConfigMap{}, "data.size", bySize); err != nil {
		t.Fatalf("indexing the same field again: %v", err)
	}

	for _, tc := range []struct {
		cluster, namespace string
		want               int
	}{{"a", "", 2}, {"a", "ns", 1}, {"b", "", 1}, {"c", "", 0}} {
		list := &corev1.ConfigMapList{}
		opts := []client.ListOption{client.MatchingFields{"data.size": "small"}}
		if tc.namespace != "" {
			opts = append(opts, client.InNamespace(tc.namespace))
		}
		if err := c.ForCluster(logicalName(tc.cluster)).List(ctx, list, opts...); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != tc.want {
			t.Errorf("cluster %s namespace %q: %d small ConfigMaps, want %d", tc.cluster, tc.namespace, len(list.Items), tc.want)
		}
	}

	list := &corev1.ConfigMapList{}
	if err := c.ForCluster("a").List(ctx, list, client.MatchingFields{"data.unindexed": "x"}); err == nil {
		t.Error("listing by a field nobody indexed must fail")
	}
}

func TestFieldIndexValue(t *testing.T) {
	for _, tc := range []struct{ cluster, namespace, value, want string }{
		{"a", "", "v", "a|__all_namespaces|v"},
		{"a", "ns", "v", "a|ns|v"},
		{"root:org", "ns", "x|y", "root:org|ns|x|y"},
	} {
		if got := fieldIndexValue(tc.cluster, tc.namespace, tc.value); got != tc.want {
			t.Errorf("fieldIndexValue(%q, %q, %q) = %q, want %q", tc.cluster, tc.namespace, tc.value, got, tc.want)
		}
	}
}

func logicalName(s string) logicalcluster.Name { return logicalcluster.Name(s) }
