package wildcard

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fakeServer feeds a Cache from memory: List returns the initial objects, Watch the events the
// test sends. No API server is involved; the informer machinery is client-go's and kcp's own.
type fakeServer struct {
	initial []runtime.Object
	watcher *watch.FakeWatcher
}

func newFakeServer(initial ...runtime.Object) *fakeServer {
	return &fakeServer{initial: initial, watcher: watch.NewFakeWithChanSize(1024, false)}
}

func (f *fakeServer) listWatch(schema.GroupVersionKind, client.ObjectList) (toolscache.ListerWatcher, error) {
	return listWatchWithoutWatchList{&toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			list := &corev1.ConfigMapList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
			for _, obj := range f.initial {
				list.Items = append(list.Items, *obj.(*corev1.ConfigMap))
			}
			return list, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return f.watcher, nil
		},
	}}, nil
}

func testConfig() *rest.Config { return &rest.Config{Host: "https://vw.example"} }

// testMapper knows ConfigMaps, the kind the tests use.
func testMapper() meta.RESTMapper {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), meta.RESTScopeNamespace)
	return mapper
}

// newTestCache returns a started Cache over a fake server that knows ConfigMaps.
func newTestCache(t testing.TB, server *fakeServer) *Cache {
	t.Helper()
	c, err := New(testConfig(), Options{Mapper: testMapper(), NewListWatch: server.listWatch})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	return c
}

// configMap returns a ConfigMap in a logical cluster.
func configMap(cluster, namespace, name string, labels map[string]string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace, Labels: labels, ResourceVersion: "1",
			Annotations: map[string]string{"kcp.io/cluster": cluster},
		},
		Data: data,
	}
}
