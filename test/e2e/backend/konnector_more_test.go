package backend

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

// boundCluster is a consumer cluster with the Database Service bound and a konnector running.
type boundCluster struct {
	client    client.Client
	konnector *framework.Process
	restart   func() *framework.Process
	received  schema.GroupVersionKind
	// namespace on the provider and the credential the konnector uses there.
	namespace  string
	credential client.Client
	consumer   string
}

func (env *kubeToKube) bindCluster(t *testing.T, u user) *boundCluster {
	t.Helper()
	cluster := framework.StartKube(t, "deploy/crd")
	c := framework.NewClient(t, cluster.Config())
	session := signIn(t, framework.Browser(t, true), env.backend.url, u, "", nil)
	bound, binding := bindInto(t, c, env.backend.url, session, env.service.Name)
	cfg, err := clientcmd.RESTConfigFromKubeConfig(bound.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	b := &boundCluster{
		client: c, konnector: startKonnector(t, cluster.Config()), received: receivedKind(t, bound),
		namespace: bound.Namespace, credential: framework.NewClient(t, cfg), consumer: bound.Consumer,
	}
	b.restart = func() *framework.Process { return startKonnector(t, cluster.Config()) }
	waitBindingReady(t, c, binding)
	return b
}

func (b *boundCluster) database(namespace, name string) *unstructured.Unstructured {
	return framework.Database(b.received, namespace, name)
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	if err := c.Create(framework.Context(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

// copiesIn lists the provider's Databases in a Consumer's namespace.
func (env *kubeToKube) copiesIn(ctx context.Context, namespace string) ([]unstructured.Unstructured, error) {
	list := databaseList()
	err := env.provisioning.admin.List(ctx, list, client.InNamespace(namespace))
	return list.Items, err
}

// TestKonnectorKilledDuringABatch: the konnector is killed with SIGKILL while 200 Databases are
// being created and started again; every Database ends with exactly one copy on the provider.
func TestKonnectorKilledDuringABatch(t *testing.T) {
	env := newKubeToKube(t)
	b := env.bindCluster(t, alice)
	createNamespace(t, b.client, "batch")
	const total = 200
	var created atomic.Int32
	killed := make(chan struct{})
	var wg sync.WaitGroup
	names := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range names {
				if err := b.client.Create(context.Background(), b.database("batch", fmt.Sprintf("db-%03d", i))); err != nil {
					t.Errorf("creating db-%03d: %v", i, err)
				}
				if created.Add(1) == total/4 {
					close(killed)
				}
			}
		})
	}
	go func() {
		for i := range total {
			names <- i
		}
		close(names)
	}()
	<-killed
	b.konnector.Kill()
	t.Logf("killed the konnector after %d of %d creates", created.Load(), total)
	wg.Wait()
	b.konnector = b.restart()

	want := sets.New[string]()
	for i := range total {
		want.Insert(templating.DNSLabel("batch", fmt.Sprintf("db-%03d", i)))
	}
	framework.WaitFor(t, 3*time.Minute, "one copy of each of the 200 Databases", func(ctx context.Context) (bool, string, error) {
		copies, err := env.copiesIn(ctx, b.namespace)
		if err != nil {
			return false, "", err
		}
		got := sets.New[string]()
		for _, c := range copies {
			got.Insert(c.GetName())
		}
		if extra := got.Difference(want); extra.Len() > 0 {
			t.Fatalf("copies of no Database of the batch: %v", sets.List(extra))
		}
		return got.Equal(want), fmt.Sprintf("%d of %d copies", got.Len(), total), nil
	})
	framework.HoldsFor(t, 5*time.Second, "no further copies", func(ctx context.Context) (bool, string, error) {
		copies, err := env.copiesIn(ctx, b.namespace)
		return len(copies) == total, fmt.Sprintf("%d copies", len(copies)), err
	})
}

// TestConsumerClustersAreIsolated: two consumer clusters bound to the same Service; what one
// creates never shows in the other, and one's provider credential reaches nothing of the other's.
func TestConsumerClustersAreIsolated(t *testing.T) {
	env := newKubeToKube(t)
	one, two := env.bindCluster(t, alice), env.bindCluster(t, bob)
	if one.namespace == two.namespace {
		t.Fatalf("both clusters got provider namespace %s", one.namespace)
	}
	createNamespace(t, one.client, "shop")
	framework.CreateWhenServed(t, one.client, one.database("shop", "orders"))
	framework.WaitFor(t, time.Minute, "the first cluster's copy", func(ctx context.Context) (bool, string, error) {
		copies, err := env.copiesIn(ctx, one.namespace)
		return len(copies) == 1, fmt.Sprintf("%d copies", len(copies)), err
	})
	ctx := framework.Context(t)
	for what, err := range map[string]error{
		"listing the second cluster's copies":    one.credential.List(ctx, databaseList(), client.InNamespace(two.namespace)),
		"reading the second cluster's Secrets":   one.credential.List(ctx, &corev1.SecretList{}, client.InNamespace(two.namespace)),
		"reading the second cluster's BoundAPIs": one.credential.List(ctx, &bindv1alpha1.BoundAPIList{}, client.InNamespace(two.namespace)),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("the first cluster's credential %s: %v, want Forbidden", what, err)
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(two.received.GroupVersion().WithKind(two.received.Kind + "List"))
	framework.HoldsFor(t, 3*time.Second, "the second cluster to see none of the first's Databases", func(ctx context.Context) (bool, string, error) {
		if err := two.client.List(ctx, list); err != nil {
			return false, "", err
		}
		return len(list.Items) == 0, fmt.Sprintf("%d Databases", len(list.Items)), nil
	})
	if copies, err := env.copiesIn(ctx, two.namespace); err != nil || len(copies) != 0 {
		t.Errorf("the second cluster's provider namespace holds %d copies (%v), want none", len(copies), err)
	}
}

// TestRevokedBindingSaysSo: the provider deletes a Consumer; its cluster's ServiceBinding says it
// was revoked, and the objects there stay.
func TestRevokedBindingSaysSo(t *testing.T) {
	env := newKubeToKube(t)
	b := env.bindCluster(t, alice)
	createNamespace(t, b.client, "shop")
	framework.CreateWhenServed(t, b.client, b.database("shop", "orders"))
	ctx := framework.Context(t)
	if err := env.provisioning.admin.Delete(ctx, &bindv1alpha1.Consumer{ObjectMeta: metav1.ObjectMeta{Name: b.consumer}}); err != nil {
		t.Fatal(err)
	}
	var binding bindv1alpha1.ServiceBinding
	framework.WaitFor(t, 2*time.Minute, "the ServiceBinding to say it was revoked", func(ctx context.Context) (bool, string, error) {
		if err := b.client.Get(ctx, client.ObjectKey{Name: env.service.Name}, &binding); err != nil {
			return false, "", err
		}
		connected := meta.FindStatusCondition(binding.Status.Conditions, bindv1alpha1.BindingConditionConnected)
		if connected == nil {
			return false, "no Connected condition", nil
		}
		return connected.Status == metav1.ConditionFalse && connected.Reason == bindv1alpha1.BindingReasonRevoked, connected.Reason + ": " + connected.Message, nil
	})
	if ready := meta.FindStatusCondition(binding.Status.Conditions, bindv1alpha1.BindingConditionReady); ready == nil || ready.Status != metav1.ConditionFalse {
		t.Errorf("Ready is %+v after the revocation, want False", ready)
	}
	if err := b.client.Get(ctx, client.ObjectKeyFromObject(b.database("shop", "orders")), b.database("shop", "orders")); err != nil {
		t.Errorf("the consumer's Database after the revocation: %v, want it kept", err)
	}
}
