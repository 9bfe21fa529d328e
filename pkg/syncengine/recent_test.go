package syncengine

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// A pass whose destination cache has not seen the copy the pass before created must not create
// it again: the destination's ResourceQuota admission counts every create it lets through,
// including one that then fails with AlreadyExists, and the quota would stay charged for an
// object that does not exist.
func TestACopyIsNotCreatedAgainWhileTheCacheIsBehind(t *testing.T) {
	creates := 0
	destination := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			creates++
			if creates > 1 {
				return apierrors.NewAlreadyExists(targetGVK.GroupVersion().WithResource("postgresclusters").GroupResource(), "default-my-db")
			}
			return nil
		},
	}).Build()
	r := &Reconciler{Destination: destination, DestinationNamespace: "consumer-ns", Agent: "agent", Kinds: Kinds{Destination: targetGVK, DestinationNamespaced: true}}
	source := consumerObject()
	owner := Owner{Agent: "agent", Source: SourceOf("consumer", source.GroupVersionKind().GroupKind(), source)}
	desired, err := DesiredCopy(source, CopySpec{GVK: targetGVK, Namespace: "consumer-ns", Name: "default-my-db", Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	events := record.NewFakeRecorder(10)
	if _, created, err := r.writeCopy(context.Background(), source, nil, desired.DeepCopy(), owner, events); err != nil || !created {
		t.Fatalf("first pass: created %v, %v", created, err)
	}
	// The cache still shows nothing at the target: existing is nil again.
	_, created, err := r.writeCopy(context.Background(), source, nil, desired.DeepCopy(), owner, events)
	if created || !errors.Is(err, errCacheBehind) {
		t.Errorf("second pass: created %v, %v; want a quiet look again (errCacheBehind)", created, err)
	}
	if creates != 1 {
		t.Errorf("%d creates reached the destination, want 1", creates)
	}

	// Once the copy is gone (deleted with its source), a new source of that name gets a copy at once.
	r.recent.forget(owner.Source)
	if _, created, err := r.writeCopy(context.Background(), source, nil, desired.DeepCopy(), owner, events); created || err == nil {
		t.Errorf("after forgetting: created %v, %v; want the destination's AlreadyExists", created, err)
	}
	if creates != 2 {
		t.Errorf("after forgetting, %d creates reached the destination, want 2", creates)
	}
}

func TestRecentCreatesExpire(t *testing.T) {
	var r recentCreates
	now := time.Now()
	a, b := Source{Cluster: "c", Name: "a"}, Source{Cluster: "c", Name: "b"}
	r.add(a, now)
	if !r.has(a, now.Add(recentTTL-time.Millisecond)) || r.has(a, now.Add(recentTTL)) {
		t.Error("a create is remembered for other than recentTTL")
	}
	r.add(b, now.Add(recentTTL))
	if _, kept := r.created[a]; kept {
		t.Error("an expired create is kept after the next add")
	}
}
