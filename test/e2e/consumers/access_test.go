package consumers

import (
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/consumers"
)

func database(namespace, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "databases.example.com/v1", "kind": "Database",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     map[string]any{"size": "small"},
	}}
}

// TestCredentialAllowsExactlyTheRole: the kubeconfig of a bind authenticates as the Consumer's
// ServiceAccount with a real token, and both the authorizer and real requests say it can do
// what the Role says and nothing else: the bound resource in its namespace, reading (not
// writing) the operator's credentials Secret, a token for its own ServiceAccount, its Lease.
func TestCredentialAllowsExactlyTheRole(t *testing.T) {
	e := newEnv(t)
	_, consumer, _ := e.bindDatabases()
	namespace := consumer.Status.Namespace

	kubeconfig, expires, err := e.provisioner.Credential(e.ctx, consumer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(expires); left < 50*time.Minute || left > 61*time.Minute {
		t.Errorf("credential expires in %s, want the default hour", left)
	}
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if ctx := cfg.Contexts[cfg.CurrentContext]; ctx == nil || ctx.Namespace != namespace || cfg.Clusters[ctx.Cluster].Server != provider.Config().Host {
		t.Fatalf("kubeconfig context %+v, want namespace %s on %s", ctx, namespace, provider.Config().Host)
	}
	sa := e.clientFor(kubeconfig)

	t.Run("access review", func(t *testing.T) {
		e.expectAccess(t, "system:serviceaccount:"+namespace+":"+consumers.ServiceAccountName, namespace)
	})

	t.Run("the bound resource in its namespace", func(t *testing.T) {
		if err := sa.Create(e.ctx, database(namespace, "orders")); err != nil {
			t.Fatalf("creating a Database: %v", err)
		}
		list := databaseList()
		if err := sa.List(e.ctx, list, client.InNamespace(namespace)); err != nil || len(list.Items) != 1 {
			t.Errorf("listing Databases: %v (%d items), want the one", err, len(list.Items))
		}
		expectForbidden(t, "creating a Database in default", sa.Create(e.ctx, database("default", "orders")))
	})

	t.Run("the operator's Secret is read-only", func(t *testing.T) {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "orders-credentials", Namespace: namespace}, StringData: map[string]string{"password": "s3cret"}}
		e.create(secret)
		read := &corev1.Secret{}
		if err := sa.Get(e.ctx, client.ObjectKeyFromObject(secret), read); err != nil || string(read.Data["password"]) != "s3cret" {
			t.Errorf("reading the credentials Secret: %v", err)
		}
		read.StringData = map[string]string{"password": "mine"}
		expectForbidden(t, "updating the Secret", sa.Update(e.ctx, read))
		expectForbidden(t, "creating a Secret", sa.Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: namespace}}))
	})

	t.Run("tokens for its own ServiceAccount only", func(t *testing.T) {
		own := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: consumers.ServiceAccountName, Namespace: namespace}}
		request := &authenticationv1.TokenRequest{}
		if err := sa.SubResource("token").Create(e.ctx, own, request); err != nil || request.Status.Token == "" {
			t.Errorf("renewing its own token: %v", err)
		}
		other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: namespace}}
		e.create(other)
		expectForbidden(t, "a token for another ServiceAccount", sa.SubResource("token").Create(e.ctx, other, &authenticationv1.TokenRequest{}))
	})

	t.Run("its heartbeat Lease", func(t *testing.T) {
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: consumers.LeaseName, Namespace: namespace}}
		if err := sa.Create(e.ctx, lease); err != nil {
			t.Fatalf("creating the heartbeat Lease: %v", err)
		}
		now := metav1.NewMicroTime(time.Now())
		lease.Spec.RenewTime = &now
		if err := sa.Update(e.ctx, lease); err != nil {
			t.Errorf("renewing the heartbeat Lease: %v", err)
		}
		expectForbidden(t, "reading another Lease", sa.Get(e.ctx, client.ObjectKey{Namespace: namespace, Name: "other"}, &coordinationv1.Lease{}))
	})

	t.Run("nothing else", func(t *testing.T) {
		expectForbidden(t, "listing ConfigMaps", sa.List(e.ctx, &corev1.ConfigMapList{}, client.InNamespace(namespace)))
		expectForbidden(t, "listing Pods", sa.List(e.ctx, &corev1.PodList{}, client.InNamespace(namespace)))
		expectForbidden(t, "reading its namespace", sa.Get(e.ctx, client.ObjectKey{Name: namespace}, &corev1.Namespace{}))
		expectForbidden(t, "listing namespaces", sa.List(e.ctx, &corev1.NamespaceList{}))
		expectForbidden(t, "listing Secrets in default", sa.List(e.ctx, &corev1.SecretList{}, client.InNamespace("default")))
	})
}

// expectAccess asks the authorizer, for the ServiceAccount, what the Role should and should not allow.
func (e *env) expectAccess(t *testing.T, username, namespace string) {
	in := func(verb, group, resource string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: group, Resource: resource}
	}
	named := func(a authorizationv1.ResourceAttributes, subresource, name string) authorizationv1.ResourceAttributes {
		a.Subresource, a.Name = subresource, name
		return a
	}
	elsewhere := func(a authorizationv1.ResourceAttributes) authorizationv1.ResourceAttributes {
		a.Namespace = "default"
		return a
	}
	allowed := []authorizationv1.ResourceAttributes{
		in("get", "databases.example.com", "databases"), in("list", "databases.example.com", "databases"),
		in("watch", "databases.example.com", "databases"), in("create", "databases.example.com", "databases"),
		in("update", "databases.example.com", "databases"), in("patch", "databases.example.com", "databases"),
		in("delete", "databases.example.com", "databases"),
		in("get", "", "secrets"), in("list", "", "secrets"), in("watch", "", "secrets"),
		named(in("create", "", "serviceaccounts"), "token", consumers.ServiceAccountName),
		in("create", "coordination.k8s.io", "leases"),
		named(in("get", "coordination.k8s.io", "leases"), "", consumers.LeaseName),
		named(in("update", "coordination.k8s.io", "leases"), "", consumers.LeaseName),
		named(in("patch", "coordination.k8s.io", "leases"), "", consumers.LeaseName),
	}
	denied := []authorizationv1.ResourceAttributes{
		in("deletecollection", "databases.example.com", "databases"),
		named(in("update", "databases.example.com", "databases"), "status", "orders"),
		elsewhere(in("create", "databases.example.com", "databases")),
		elsewhere(in("get", "", "secrets")),
		in("create", "", "secrets"), in("update", "", "secrets"), in("delete", "", "secrets"),
		named(in("create", "", "serviceaccounts"), "token", "other"),
		in("create", "", "serviceaccounts"), in("delete", "", "serviceaccounts"),
		named(in("get", "coordination.k8s.io", "leases"), "", "other"), in("list", "coordination.k8s.io", "leases"),
		in("get", "", "configmaps"), in("get", "", "pods"), in("create", "", "pods"),
		in("get", "", "namespaces"), in("delete", "", "namespaces"),
		in("update", "rbac.authorization.k8s.io", "roles"), in("create", "rbac.authorization.k8s.io", "rolebindings"),
		in("get", "caches.example.com", "caches"),
		in("*", "*", "*"),
	}
	for _, a := range allowed {
		if !e.allowed(username, a) {
			t.Errorf("denied, want allowed: %+v", a)
		}
	}
	for _, a := range denied {
		if e.allowed(username, a) {
			t.Errorf("allowed, want denied: %+v", a)
		}
	}
}

func expectForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: %v, want forbidden", what, err)
	}
}
