package backend

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestConsumersAreIsolatedAndRevocable: bob sends alice's cluster identity and gets a Consumer of
// his own, whose credential reaches nothing of alice's; deleting alice's Consumer makes her
// credential fail and removes what she was given.
func TestConsumersAreIsolatedAndRevocable(t *testing.T) {
	backend := startBackend(t)
	p := newProvisioning(t)
	databases := p.databases()
	p.waitChecked(databases, metav1.ConditionTrue)
	p.grantBind(alice.Username(), databases.Name)
	p.grantBind(bob.Username(), databases.Name)
	cluster := bindprotocol.BindRequest{Cluster: bindprotocol.Cluster{ID: framework.UniqueName("cluster")}}

	bind := func(u user) *bindprotocol.BindResponse {
		t.Helper()
		session := signIn(t, framework.Browser(t, true), backend.url, u, "", nil)
		resp, err := apiClient(t, backend.url, session).Bind(framework.Context(t), databases.Name, cluster)
		if err != nil {
			t.Fatalf("%s binds: %v", u.Name, err)
		}
		return resp
	}
	alices, bobs := bind(alice), bind(bob)
	if alices.Consumer == bobs.Consumer || alices.Namespace == bobs.Namespace {
		t.Fatalf("alice and bob share Consumer %s / namespace %s for the same cluster ID", alices.Consumer, alices.Namespace)
	}

	ctx := framework.Context(t)
	aliceClient, bobClient := credentialClient(t, alices), credentialClient(t, bobs)
	if err := aliceClient.Create(ctx, database(alices.Namespace, "orders")); err != nil {
		t.Fatalf("alice creates a Database: %v", err)
	}
	for what, err := range map[string]error{
		"reading alice's Database":  bobClient.Get(ctx, client.ObjectKey{Namespace: alices.Namespace, Name: "orders"}, database("", "")),
		"listing alice's Databases": bobClient.List(ctx, databaseList(), client.InNamespace(alices.Namespace)),
		"reading alice's Secrets":   bobClient.Get(ctx, client.ObjectKey{Namespace: alices.Namespace, Name: "orders-credentials"}, &corev1.Secret{}),
		"deleting alice's Database": bobClient.Delete(ctx, database(alices.Namespace, "orders")),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("bob %s: %v, want Forbidden", what, err)
		}
	}

	var consumer bindv1alpha1.Consumer
	if err := p.admin.Get(ctx, client.ObjectKey{Name: alices.Consumer}, &consumer); err != nil {
		t.Fatal(err)
	}
	if err := p.admin.Delete(ctx, &consumer); err != nil {
		t.Fatal(err)
	}
	// The RoleBinding goes first, so access ends as soon as RBAC sees it; the token itself is
	// refused once the ServiceAccount is gone and the kube-apiserver's 10 s token cache has expired.
	framework.WaitFor(t, 5*time.Second, "alice's credential to lose access", func(ctx context.Context) (bool, string, error) {
		err := aliceClient.List(ctx, databaseList(), client.InNamespace(alices.Namespace))
		return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err), errString(err), nil
	})
	framework.WaitFor(t, 30*time.Second, "alice's token to be refused", func(ctx context.Context) (bool, string, error) {
		err := aliceClient.List(ctx, databaseList(), client.InNamespace(alices.Namespace))
		if err == nil {
			t.Fatal("alice's credential works again after the Consumer's deletion")
		}
		return apierrors.IsUnauthorized(err), errString(err), nil
	})
	framework.WaitFor(t, 30*time.Second, "alice's Consumer and what it owned to go", func(ctx context.Context) (bool, string, error) {
		for _, obj := range []client.Object{&consumer, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: alices.Namespace, Name: alices.ServiceAccount}},
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: alices.Namespace, Name: consumers.RoleName}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: alices.Namespace, Name: consumers.RoleName}}} {
			if err := p.admin.Get(ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%T %s still there", obj, obj.GetName()), nil
			}
		}
		return true, "", nil
	})
	var ns corev1.Namespace
	if err := p.admin.Get(ctx, client.ObjectKey{Name: alices.Namespace}, &ns); err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("alice's namespace %s is not being deleted", alices.Namespace)
	}
	if err := bobClient.List(ctx, databaseList(), client.InNamespace(bobs.Namespace)); err != nil {
		t.Errorf("revoking alice cost bob his access: %v", err)
	}
}

func credentialClient(t *testing.T, bound *bindprotocol.BindResponse) client.Client {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(bound.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return framework.NewClient(t, cfg)
}

var databaseGVK = schema.GroupVersionKind{Group: "db.provider.example", Version: "v1alpha1", Kind: "Database"}

func database(namespace, name string) *unstructured.Unstructured {
	return framework.Database(databaseGVK, namespace, name)
}

func databaseList() *unstructured.UnstructuredList {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(databaseGVK)
	return list
}

func errString(err error) string {
	if err == nil {
		return "allowed"
	}
	return err.Error()
}
