package syncengine

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/providers/single"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestControllerKubeToKubeInOneNamespace runs the engine's controller as the konnector will: a
// plain Kubernetes cluster is the source of truth, and the copies land in one namespace of another
// cluster, reached with a credential that a Role allows that namespace and nothing else. Spec goes
// down, the status that the destination's operator writes comes back, and so does the credentials
// Secret it writes next to the copy (and comes back when someone deletes it there); deleting the
// source object removes both copies first.
func TestControllerKubeToKubeInOneNamespace(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	// A source cluster of its own: the controller syncs every Widget there, and the other tests'
	// objects are theirs.
	source := framework.StartKube(t, "test/e2e/syncengine/testdata/crds.yaml")
	p := pairWith(t, source)
	tenant := newNamespace(t, p.destination, "tenant")
	tenantConfig := namespaceCredential(t, p.destination, tenant)
	startEngine(t, source.Config(), tenantConfig, tenant)

	ns := newNamespace(t, p.source, "shop")
	create(t, p.source, object(sourceWidget, ns, "orders", map[string]any{"size": "large"}))
	copyName := templating.DNSLabel(ns, "orders")
	var copied *unstructured.Unstructured
	framework.WaitFor(t, time.Minute, "the copy in the tenant namespace", func(context.Context) (bool, string, error) {
		copied = getObject(t, p.destination, destWidget, tenant, copyName)
		return copied != nil, "", nil
	})
	if size, _, _ := unstructured.NestedString(copied.Object, "spec", "size"); size != "large" {
		t.Errorf("the copy has spec.size %q, want large", size)
	}

	t.Log("the destination's operator reports status and writes the credentials next to the copy")
	create(t, p.destination, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "orders-creds"}, StringData: map[string]string{"password": "s3cret"}})
	setStatus(t, p.destination, destWidget, tenant, copyName, map[string]any{"phase": "Ready", "credentialsSecretRef": map[string]any{"name": "orders-creds"}})
	framework.WaitFor(t, time.Minute, "the status and the Secret in the source", func(context.Context) (bool, string, error) {
		src := getObject(t, p.source, sourceWidget, ns, "orders")
		phase, _, _ := unstructured.NestedString(src.Object, "status", "phase")
		secret := getObject(t, p.source, secretKind, ns, "orders-creds")
		return phase == "Ready" && secret != nil, "phase " + phase, nil
	})

	t.Log("a copy of the Secret deleted by hand in the source comes back at once (its copy is watched)")
	if err := p.source.Delete(ctx, getObject(t, p.source, secretKind, ns, "orders-creds")); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 30*time.Second, "the Secret's copy to be restored", func(context.Context) (bool, string, error) {
		return getObject(t, p.source, secretKind, ns, "orders-creds") != nil, "", nil
	})

	t.Log("deleting the source object removes the copy and the Secret's copy, then the object")
	if err := p.source.Delete(ctx, getObject(t, p.source, sourceWidget, ns, "orders")); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "everything to be gone", func(context.Context) (bool, string, error) {
		gone := getObject(t, p.source, sourceWidget, ns, "orders") == nil &&
			getObject(t, p.destination, destWidget, tenant, copyName) == nil &&
			getObject(t, p.source, secretKind, ns, "orders-creds") == nil
		return gone, "", nil
	})
}

// namespaceCredential grants the user tenant-<namespace> what the engine needs in one namespace
// of c's cluster (copies, and reading the related Secrets) and returns a config that acts as that
// user. It checks that the user may not list copies across namespaces, so that the test proves
// what it says.
func namespaceCredential(t *testing.T, c client.Client, namespace string) *rest.Config {
	t.Helper()
	user := "tenant-" + namespace
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "sync"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{destWidget.Group}, Resources: []string{"widgets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "sync"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	create(t, c, role)
	create(t, c, binding)
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Group: destWidget.Group, Resource: "widgets", Verb: "list"},
	}}
	create(t, c, review)
	if review.Status.Allowed {
		t.Fatalf("%s may list widgets in every namespace; the test needs a credential confined to %s", user, namespace)
	}
	cfg := destinationCluster.Config()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return cfg
}

// startEngine runs the engine's controller with source as its only source cluster and one
// namespace of the destination as its destination, until the test ends.
func startEngine(t *testing.T, source, destination *rest.Config, namespace string) {
	t.Helper()
	ctx := framework.Context(t)
	src, err := cluster.New(source, func(o *cluster.Options) { o.Scheme = framework.Scheme })
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := mcmanager.New(source, single.New(sourceName, src), manager.Options{
		Scheme: framework.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	destinationCache, err := cache.New(destination, cache.Options{Scheme: framework.Scheme, DefaultNamespaces: map[string]cache.Config{namespace: {}}})
	if err != nil {
		t.Fatal(err)
	}
	destinationClient, err := client.New(destination, client.Options{Scheme: framework.Scheme, Cache: &client.CacheOptions{Reader: destinationCache, Unstructured: true}})
	if err != nil {
		t.Fatal(err)
	}
	namer, err := syncengine.NewNamer(syncengine.Naming{})
	if err != nil {
		t.Fatal(err)
	}
	r := &syncengine.Reconciler{
		Sources: syncengine.ManagerSources(mgr, "syncengine-e2e", nil), Destination: destinationClient, DestinationNamespace: namespace,
		Agent: framework.UniqueName("controller"), Namer: namer,
		Kinds:   syncengine.Kinds{Source: sourceWidget, Destination: destWidget, DestinationNamespaced: true, CopiesStatus: true},
		Related: []syncengine.Related{referenced(t, "credentials", syncengine.FromDestination, secretKind, "status.credentialsSecretRef.name")},
	}
	r.Related[0].Watch = true
	ctrl, err := syncengine.NewController(mgr, r, syncengine.ControllerOptions{
		Name: r.Agent, Logger: framework.Logger(t), DestinationCache: destinationCache,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, runnable := range []manager.Runnable{src, destinationCache} {
		if err := mgr.GetLocalManager().Add(runnable); err != nil {
			t.Fatal(err)
		}
	}
	if err := mgr.Add(ctrl); err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := mgr.Start(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("the manager stopped: %v", err)
		}
	}()
}
