package consumers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestDeletingTheConsumerRevokesIt: once a deleted Consumer is gone, its token is refused at once
// and soon unauthenticated (401), its ServiceAccount, Role and RoleBinding are gone and its
// namespace is being deleted.
func TestDeletingTheConsumerRevokesIt(t *testing.T) {
	startControllers(t)
	e := newEnv(t)
	_, consumer, _ := e.bindDatabases()
	namespace := consumer.Status.Namespace
	kubeconfig, _, err := e.provisioner.Credential(e.ctx, consumer, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := e.clientFor(kubeconfig)
	list := databaseList()
	if err := sa.List(e.ctx, list, client.InNamespace(namespace)); err != nil {
		t.Fatalf("the credential does not work before the Consumer is deleted: %v", err)
	}

	if err := e.admin.Delete(e.ctx, consumer); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 30*time.Second, "Consumer "+consumer.Name+" to be gone", func(ctx context.Context) (bool, string, error) {
		err := e.admin.Get(ctx, client.ObjectKeyFromObject(consumer), &bindv1alpha1.Consumer{})
		return apierrors.IsNotFound(err), "still there", client.IgnoreNotFound(err)
	})

	// The RoleBinding goes first, so the token is refused as soon as the API server's RBAC cache
	// has seen it go; the ServiceAccount goes before the finalizer comes off, so the token itself
	// is invalid, but kube-apiserver keeps a successful token authentication for 10 s
	// (TokenSuccessCacheTTL, no flag), so 401 may take that long.
	framework.WaitFor(t, 2*time.Second, "requests with the revoked token to be refused", func(ctx context.Context) (bool, string, error) {
		err := sa.List(ctx, list, client.InNamespace(namespace))
		return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err), fmt.Sprintf("%v", err), nil
	})
	framework.WaitFor(t, 15*time.Second, "the revoked token to be unauthenticated (401)", func(ctx context.Context) (bool, string, error) {
		err := sa.List(ctx, list, client.InNamespace(namespace))
		if err == nil {
			t.Fatal("a request with the revoked token succeeded after it was refused")
		}
		return apierrors.IsUnauthorized(err), err.Error(), nil
	})
	for _, obj := range []client.Object{
		&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{},
	} {
		name := consumers.RoleName
		if _, ok := obj.(*corev1.ServiceAccount); ok {
			name = consumers.ServiceAccountName
		}
		if err := e.admin.Get(e.ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s after revoking: %v, want not found", obj, name, err)
		}
	}
	// envtest runs no namespace controller: the deletion is requested, and stays so.
	ns := &corev1.Namespace{}
	if err := e.admin.Get(e.ctx, client.ObjectKey{Name: namespace}, ns); err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("namespace %s is not being deleted", namespace)
	} else if client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	e.waitForEvents(consumer.Name, "Revoked")
}
