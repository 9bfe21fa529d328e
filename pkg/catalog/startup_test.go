package catalog

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
)

// fakeFleet is a set of engaged workspaces whose contents live in fake clients.
type fakeFleet struct {
	mu       sync.Mutex
	clusters map[multicluster.ClusterName]cluster.Cluster
}

func (f *fakeFleet) GetCluster(_ context.Context, name multicluster.ClusterName) (cluster.Cluster, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cl, ok := f.clusters[name]; ok {
		return cl, nil
	}
	return nil, multicluster.ErrClusterNotFound
}

func (f *fakeFleet) ClusterNames() []multicluster.ClusterName {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []multicluster.ClusterName
	for name := range f.clusters {
		names = append(names, name)
	}
	return names
}

func (f *fakeFleet) engage(name multicluster.ClusterName, objs ...client.Object) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clusters == nil {
		f.clusters = map[multicluster.ClusterName]cluster.Cluster{}
	}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(objs...).Build()
	f.clusters[name] = fakeCluster{client: c}
}

// fakeCluster serves reads from a fake client, through GetClient and GetCache.
type fakeCluster struct {
	cluster.Cluster
	client client.Client
}

func (c fakeCluster) GetClient() client.Client { return c.client }
func (c fakeCluster) GetCache() cache.Cache    { return fakeCache{reader: c.client} }

type fakeCache struct {
	cache.Cache
	reader client.Reader
}

func (c fakeCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.reader.List(ctx, list, opts...)
}

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := apisv1alpha2.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := catalogv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

func export(name string, listed bool) *apisv1alpha2.APIExport {
	e := &apisv1alpha2.APIExport{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if listed {
		e.Labels = map[string]string{catalogv1alpha1.ListedLabel: "true"}
	}
	return e
}

func entry(cluster, export string) *catalogv1alpha1.CatalogEntry {
	return &catalogv1alpha1.CatalogEntry{
		ObjectMeta: metav1.ObjectMeta{Name: EntryName(cluster, export)},
		Spec:       catalogv1alpha1.CatalogEntrySpec{Export: catalogv1alpha1.ExportReference{Cluster: cluster, Name: export}},
	}
}

func TestStillPending(t *testing.T) {
	pending := map[multicluster.ClusterName]bool{"a": true, "b": true, "c": true}
	got := stillPending(pending, []multicluster.ClusterName{"b", "c", "new"})
	if len(got) != 2 || !got["b"] || !got["c"] {
		t.Errorf("still pending %v, want b and c: a left the fleet, new was never pending", got)
	}
}

// TestWaitForFleet: the wait ends only once every workspace that kcp listed is engaged, or has
// left the fleet.
func TestWaitForFleet(t *testing.T) {
	defer func(d time.Duration) { fleetPoll = d }(fleetPoll)
	fleetPoll = 10 * time.Millisecond

	fleet := &fakeFleet{}
	fleet.engage("a")
	var mu sync.Mutex
	listed := []multicluster.ClusterName{"a", "b", "c"}
	r := &Reconciler{Clusters: fleet, Workspaces: func(context.Context) ([]multicluster.ClusterName, error) {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(listed), nil
	}}
	done := make(chan error, 1)
	go func() { done <- r.waitForFleet(context.Background()) }()

	// Neither b (not engaged yet) nor c (not engaged, still listed) lets it end.
	select {
	case err := <-done:
		t.Fatalf("waitForFleet returned %v while b and c were not engaged", err)
	case <-time.After(100 * time.Millisecond):
	}
	fleet.engage("b")
	select {
	case err := <-done:
		t.Fatalf("waitForFleet returned %v while c was not engaged", err)
	case <-time.After(100 * time.Millisecond):
	}
	mu.Lock()
	listed = []multicluster.ClusterName{"a", "b", "d"} // c left the fleet; d is new and not waited for
	mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waitForFleet did not return after c left the fleet")
	}

	r.Workspaces = func(context.Context) ([]multicluster.ClusterName, error) { return nil, errors.New("forbidden") }
	if err := r.waitForFleet(context.Background()); err == nil {
		t.Error("waitForFleet succeeded although the fleet could not be listed")
	}
}

// TestPrune: after the fleet caught up, the entries of exports that are gone, unlisted, or in
// workspaces that are not engaged go; valid entries and entries the manager did not write stay.
func TestPrune(t *testing.T) {
	fleet := &fakeFleet{}
	fleet.engage("p1", export("valid", true), export("unlisted", false))
	fleet.engage("p2", export("other", true))
	foreign := entry("p1", "deleted")
	foreign.Name = "hand-written"
	catalog := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(
		entry("p1", "valid"), entry("p1", "unlisted"), entry("p1", "deleted"),
		entry("p2", "other"), entry("gone-workspace", "x"), foreign,
	).Build()
	r := &Reconciler{Clusters: fleet, Catalog: catalog}

	// Before the fleet caught up, a workspace that is not engaged keeps its entry.
	req := mcreconcile.Request{ClusterName: "gone-workspace", Request: reconcile.Request{NamespacedName: types.NamespacedName{Name: "x"}}}
	res, err := r.Reconcile(context.Background(), req)
	if err != nil || res.RequeueAfter == 0 {
		t.Fatalf("Reconcile before catching up = %+v, %v; want a requeue", res, err)
	}
	if err := catalog.Get(context.Background(), client.ObjectKey{Name: EntryName("gone-workspace", "x")}, &catalogv1alpha1.CatalogEntry{}); err != nil {
		t.Fatalf("the entry of a workspace that is not engaged yet was deleted before the fleet caught up: %v", err)
	}

	r.caughtUp.Store(true)
	if err := r.prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries := &catalogv1alpha1.CatalogEntryList{}
	if err := catalog.List(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries.Items {
		names = append(names, e.Name)
	}
	want := []string{EntryName("p1", "valid"), EntryName("p2", "other"), "hand-written"}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("entries after pruning %v, want %v", names, want)
	}

	// After catching up, a workspace that is not engaged is gone: its entry goes.
	if err := catalog.Create(context.Background(), entry("gone-workspace", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := catalog.Delete(context.Background(), entry("gone-workspace", "x")); !apierrors.IsNotFound(err) {
		t.Errorf("entry of a workspace that is gone: delete says %v, want NotFound", err)
	}
}
