package resell

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// testResellerKonnectorKilled: while C1 and C2 create 40 Databases between them, B1's konnector
// is killed with SIGKILL and started again; every Database ends with exactly one copy on B1 and
// one on A, and with its status back at its end consumer.
func testResellerKonnectorKilled(t *testing.T, ch *chain) {
	ctx := framework.Context(t)
	var orders []*order
	for _, end := range []struct {
		c  *cluster
		at *binding
		n  int
	}{{ch.c1, ch.c1AtB1, 30}, {ch.c2, ch.c2AtB1, 10}} {
		if err := end.c.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "batch"}}); err != nil {
			t.Fatal(err)
		}
		for i := range end.n {
			orders = append(orders, &order{who: end.c, at: end.at, viaB1: true, obj: framework.Database(end.at.kind, "batch", fmt.Sprintf("db-%02d", i))})
		}
	}
	ch.dumpOnFailure(t)
	t.Cleanup(func() { ch.deleteAndWait(t, orders...) })

	var wg sync.WaitGroup
	errs := make(chan error, len(orders))
	for _, o := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.who.client.Create(ctx, o.obj); err != nil {
				errs <- fmt.Errorf("%s creates %s: %w", o.who.name, o.obj.GetName(), err)
			}
		}()
	}
	framework.WaitFor(t, 2*time.Minute, "a few copies on A before the kill", func(ctx context.Context) (bool, string, error) {
		items, err := list(ctx, ch.a.client, providerKind, ch.b1AtA.namespace)
		return len(items) >= 8, fmt.Sprintf("%d copies", len(items)), err
	})
	ch.b1.konnector.Kill()
	t.Log("B1's konnector killed with SIGKILL; starting it again")
	ch.b1.startKonnector(ch.t)
	wg.Wait()
	close(errs)
	var createErrs []error
	for err := range errs {
		createErrs = append(createErrs, err)
	}
	if err := errors.Join(createErrs...); err != nil {
		t.Fatal(err)
	}

	exactlyOnce := func(ctx context.Context) (bool, string, error) {
		items, err := list(ctx, ch.a.client, providerKind, ch.b1AtA.namespace)
		if err != nil {
			return false, "", err
		}
		seen := map[string]int{}
		for _, item := range items {
			a := item.GetAnnotations()
			seen[a[syncengine.SourceNamespaceAnnotation]+"/"+a[syncengine.SourceNameAnnotation]]++
		}
		for source, n := range seen {
			if n > 1 {
				t.Fatalf("%d copies on A of %s", n, source)
			}
		}
		return len(items) == len(orders), fmt.Sprintf("%d copies of %d Databases", len(items), len(orders)), nil
	}
	framework.WaitFor(t, 3*time.Minute, "exactly one copy on A of every Database", exactlyOnce)
	for _, o := range orders {
		ch.copyOnA(t, o) // exactly one, traced through its copy on B1
	}
	for _, o := range orders {
		waitReadyWithCredentials(t, o.who.client, o.obj)
	}
	framework.HoldsFor(t, 3*time.Second, "exactly one copy on A of every Database", exactlyOnce)
}
