package wildcard

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestReadsGiveUpWithTheirContext: an informer whose list keeps failing never syncs; Get and List
// wait for it only as long as their context allows, and say what they waited for.
func TestReadsGiveUpWithTheirContext(t *testing.T) {
	forbidden := func(schema.GroupVersionKind, client.ObjectList) (toolscache.ListerWatcher, error) {
		return listWatchWithoutWatchList{&toolscache.ListWatch{
			ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
				return nil, apierrors.NewForbidden(corev1.Resource("configmaps"), "", errors.New("no claim"))
			},
			WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
				return nil, errors.New("not reached")
			},
		}}, nil
	}
	c, err := New(testConfig(), Options{Mapper: testMapper(), NewListWatch: forbidden})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go func() { _ = c.Start(runCtx) }()
	scoped := c.ForCluster("a")

	for name, read := range map[string]func(context.Context) error{
		"Get": func(ctx context.Context) error {
			return scoped.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "one"}, &corev1.ConfigMap{})
		},
		"List": func(ctx context.Context) error { return scoped.List(ctx, &corev1.ConfigMapList{}) },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- read(ctx) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "informer to sync") {
				t.Errorf("%s: error %v, want one that says it waited for the informer until the deadline", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not return after its context ended", name)
		}
		cancel()
	}
}
