package resell

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestResell runs the chains C1 -> B1 -> A, C2 -> B1 -> A and B2 -> A at once, in one set of
// clusters; each subtest cleans up what it created.
func TestResell(t *testing.T) {
	ch := newChain(t, "--opaque-consumer-names")
	t.Run("ObjectsCrossBothHops", func(t *testing.T) { testObjectsCrossBothHops(t, ch) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, ch) })
	t.Run("ALearnsNothingOfTheEndConsumer", func(t *testing.T) { testNamesOnA(t, ch) })
	t.Run("QuotaOnAReseller", func(t *testing.T) { testQuotaOnAReseller(t, ch) })
	t.Run("ResellerKonnectorKilledDuringABatch", func(t *testing.T) { testResellerKonnectorKilled(t, ch) })
	// Last: B1's Service is gone for all of B1's consumers while it runs.
	t.Run("ServiceWithdrawn", func(t *testing.T) { testServiceWithdrawn(t, ch) })
}

// order is a Database ordered by one end consumer, and where it travels.
type order struct {
	who *cluster
	at  *binding // the end consumer's binding
	// viaB1 is set for C1's and C2's orders: the hop through B1.
	viaB1 bool
	obj   *unstructured.Unstructured
}

// testObjectsCrossBothHops: C1, C2 and B2 each order a Database of the same namespace and name.
// Each ends with exactly one copy on A, in B1's or B2's namespace; the operator's status and
// credentials Secret come back to the end consumer that ordered it, over both hops for C1 and
// C2, and nowhere else; deleting C1's goes through both hops and leaves the others running.
func testObjectsCrossBothHops(t *testing.T, ch *chain) {
	ctx := framework.Context(t)
	orders := []*order{{who: ch.c1, at: ch.c1AtB1, viaB1: true}, {who: ch.c2, at: ch.c2AtB1, viaB1: true}, {who: ch.b2, at: ch.b2AtA}}
	for _, o := range orders {
		o.obj = framework.Database(o.at.kind, "shop", "orders")
		framework.CreateWhenServed(t, o.who.client, o.obj)
	}

	t.Log("exactly one copy each on A, in the reseller's namespace")
	framework.WaitFor(t, 2*time.Minute, "two copies in B1's namespace on A and one in B2's", func(ctx context.Context) (bool, string, error) {
		all, err := list(ctx, ch.a.client, providerKind, "")
		if err != nil {
			return false, "", err
		}
		perNamespace := map[string]int{}
		for _, c := range all {
			perNamespace[c.GetNamespace()]++
		}
		return len(all) == 3 && perNamespace[ch.b1AtA.namespace] == 2 && perNamespace[ch.b2AtA.namespace] == 1, fmt.Sprint(perNamespace), nil
	})

	t.Log("status and credentials back at the end consumer")
	secrets := map[*cluster]*corev1.Secret{}
	for _, o := range orders {
		secrets[o.who] = waitReadyWithCredentials(t, o.who.client, o.obj)
	}
	// Each end consumer's Secret is the one A's operator made for its own copy.
	for _, o := range orders {
		copyOnA := ch.copyOnA(t, o)
		var secretOnA corev1.Secret
		if err := ch.a.client.Get(ctx, client.ObjectKey{Namespace: copyOnA.GetNamespace(), Name: copyOnA.GetName() + "-credentials"}, &secretOnA); err != nil {
			t.Fatalf("the operator's Secret of %s's copy on A: %v", o.who.name, err)
		}
		if got, want := string(secrets[o.who].Data["password"]), string(secretOnA.Data["password"]); got != want || got == "" {
			t.Errorf("%s's credentials are not those of its own copy on A (%s/%s)", o.who.name, copyOnA.GetNamespace(), copyOnA.GetName())
		}
	}
	for _, o := range orders {
		for _, other := range orders {
			if other == o {
				continue
			}
			err := other.who.client.Get(ctx, client.ObjectKeyFromObject(secrets[o.who]), &corev1.Secret{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("%s's credentials Secret %s is in %s's cluster too: %v", o.who.name, secrets[o.who].Name, other.who.name, err)
			}
		}
	}

	t.Log("deleting C1's Database goes through B1 to A; the others stay")
	c1 := orders[0]
	copyOnB1 := ch.copyOnB1(t, c1)
	copyOnA := ch.copyOnA(t, c1)
	if err := ch.c1.client.Delete(ctx, c1.obj); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 2*time.Minute, "C1's Database and its copies on B1 and A to be gone", func(ctx context.Context) (bool, string, error) {
		var left []string
		for what, at := range map[string]struct {
			c   client.Client
			obj *unstructured.Unstructured
		}{"at C1": {ch.c1.client, c1.obj}, "on B1": {ch.b1.client, copyOnB1}, "on A": {ch.a.client, copyOnA}} {
			err := at.c.Get(ctx, client.ObjectKeyFromObject(at.obj), at.obj.DeepCopy())
			if !apierrors.IsNotFound(err) {
				left = append(left, what+": "+errString(err))
			}
		}
		return len(left) == 0, strings.Join(left, "; "), nil
	})
	for _, o := range orders[1:] {
		if _, err := ch.findCopyOnA(ctx, o); err != nil {
			t.Errorf("%s's copy on A after C1's deletion: %v", o.who.name, err)
		}
	}
	ch.deleteAndWait(t, orders[1:]...)
}

// testIsolation: with their real credentials, C1 reaches nothing of C2's at B1, and B1 nothing of
// B2's at A; neither reaches beyond its namespace.
func testIsolation(t *testing.T, ch *chain) {
	ctx := framework.Context(t)
	o := &order{who: ch.c2, at: ch.c2AtB1, viaB1: true, obj: framework.Database(ch.c2AtB1.kind, "shop", "isolated")}
	framework.CreateWhenServed(t, ch.c2.client, o.obj)
	b2 := &order{who: ch.b2, at: ch.b2AtA, obj: framework.Database(ch.b2AtA.kind, "shop", "isolated")}
	framework.CreateWhenServed(t, ch.b2.client, b2.obj)
	daves := ch.waitCopyOnB1(t, o)
	b2s := ch.waitCopyOnA(t, b2)
	t.Cleanup(func() { ch.deleteAndWait(t, o, b2) })

	for _, probe := range []struct {
		who, what string
		err       error
	}{
		{"C1 at B1", "reading C2's copy", ch.c1AtB1.credential.Get(ctx, client.ObjectKeyFromObject(daves), daves.DeepCopy())},
		{"C1 at B1", "listing C2's namespace", listErr(ctx, ch.c1AtB1.credential, daves.GroupVersionKind(), ch.c2AtB1.namespace)},
		{"C1 at B1", "listing every namespace", listErr(ctx, ch.c1AtB1.credential, daves.GroupVersionKind(), "")},
		{"C1 at B1", "listing C2's Secrets", ch.c1AtB1.credential.List(ctx, &corev1.SecretList{}, client.InNamespace(ch.c2AtB1.namespace))},
		{"C1 at B1", "deleting C2's copy", ch.c1AtB1.credential.Delete(ctx, daves.DeepCopy())},
		{"B1 at A", "reading B2's copy", ch.b1AtA.credential.Get(ctx, client.ObjectKeyFromObject(b2s), b2s.DeepCopy())},
		{"B1 at A", "listing B2's namespace", listErr(ctx, ch.b1AtA.credential, providerKind, ch.b2AtA.namespace)},
		{"B1 at A", "listing every namespace", listErr(ctx, ch.b1AtA.credential, providerKind, "")},
		{"B1 at A", "listing B2's Secrets", ch.b1AtA.credential.List(ctx, &corev1.SecretList{}, client.InNamespace(ch.b2AtA.namespace))},
		{"B1 at A", "reading B2's credentials", ch.b1AtA.credential.Get(ctx, client.ObjectKey{Namespace: ch.b2AtA.namespace, Name: b2s.GetName() + "-credentials"}, &corev1.Secret{})},
	} {
		if !apierrors.IsForbidden(probe.err) {
			t.Errorf("%s %s: %v, want Forbidden", probe.who, probe.what, probe.err)
		}
	}
	// C1's own namespace at B1 holds nothing of C2's.
	mine, err := list(ctx, ch.c1AtB1.credential, daves.GroupVersionKind(), ch.c1AtB1.namespace)
	if err != nil {
		t.Fatalf("C1 lists its own namespace at B1: %v", err)
	}
	if len(mine) != 0 {
		t.Errorf("C1's namespace at B1 holds %d Databases, want none", len(mine))
	}
}

func listErr(ctx context.Context, c client.Client, kind schema.GroupVersionKind, namespace string) error {
	_, err := list(ctx, c, kind, namespace)
	return err
}

// testNamesOnA: A can trace the copy of C1's Database to B1, its Consumer, and to one of B1's
// consumers, but nothing it sees names C1's user: not the copy's namespace or name, not a label
// or annotation.
func testNamesOnA(t *testing.T, ch *chain) {
	ctx := framework.Context(t)
	o := &order{who: ch.c1, at: ch.c1AtB1, viaB1: true, obj: framework.Database(ch.c1AtB1.kind, "shop", "traced")}
	framework.CreateWhenServed(t, ch.c1.client, o.obj)
	t.Cleanup(func() { ch.deleteAndWait(t, o) })
	copyOnA := ch.waitCopyOnA(t, o)
	if copyOnA.GetNamespace() != ch.b1AtA.namespace {
		t.Errorf("C1's copy on A is in namespace %s, want B1's %s", copyOnA.GetNamespace(), ch.b1AtA.namespace)
	}
	var b1 bindv1alpha1.Consumer
	if err := ch.a.client.Get(ctx, client.ObjectKey{Name: ch.b1AtA.consumer}, &b1); err != nil {
		t.Fatal(err)
	}
	if b1.Spec.Identity.Username != resellerOne.Username() {
		t.Errorf("the Consumer owning C1's copy on A is %s, want B1's user %s", b1.Spec.Identity.Username, resellerOne.Username())
	}
	seen := []string{copyOnA.GetNamespace(), copyOnA.GetName()}
	for _, m := range []map[string]string{copyOnA.GetLabels(), copyOnA.GetAnnotations()} {
		for k, v := range m {
			seen = append(seen, k, v)
		}
	}
	for _, s := range seen {
		if strings.Contains(s, carol.Name) {
			t.Errorf("A sees C1's user %s in %q on the copy %s/%s", carol.Name, s, copyOnA.GetNamespace(), copyOnA.GetName())
		}
	}
}
