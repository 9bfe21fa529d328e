package consumers

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/services"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestRoleIsPutBack: a Role widened by hand is narrowed again, a RoleBinding deleted by hand
// comes back.
func TestRoleIsPutBack(t *testing.T) {
	startControllers(t)
	e := newEnv(t)
	_, consumer, resolved := e.bindDatabases()
	namespace := consumer.Status.Namespace
	want := consumers.Rules([]*services.Resolved{resolved})

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		role := &rbacv1.Role{}
		if err := e.admin.Get(e.ctx, client.ObjectKey{Namespace: namespace, Name: consumers.RoleName}, role); err != nil {
			return err
		}
		role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
		return e.admin.Update(e.ctx, role)
	})
	if err != nil {
		t.Fatalf("widening the Role: %v", err)
	}
	e.waitForRules(namespace, want)

	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: consumers.RoleName}}
	if err := e.admin.Delete(e.ctx, binding); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 30*time.Second, "the RoleBinding to come back", func(ctx context.Context) (bool, string, error) {
		err := e.admin.Get(ctx, client.ObjectKeyFromObject(binding), binding)
		return err == nil && binding.DeletionTimestamp == nil, "", client.IgnoreNotFound(err)
	})
}

// TestServiceGainingAPublishedResourceExtendsTheRole: when a Service selects one more
// PublishedResource, the Role of every Consumer that bound it allows its resource too.
func TestServiceGainingAPublishedResourceExtendsTheRole(t *testing.T) {
	startControllers(t)
	e := newEnv(t)
	e.publish(databases, nil, credentials())
	svc := e.service()
	alice, _ := e.bind(user("alice"), "cluster-1", svc.Name)
	bob, _ := e.bind(user("bob"), "cluster-2", svc.Name)

	e.publish(caches, nil)
	e.waitForReady(svc, func() []metav1.Condition { return svc.Status.Conditions }, metav1.ConditionTrue, bindv1alpha1.ServiceReasonReady)
	framework.WaitFor(t, 30*time.Second, "the Service to offer two resources", func(ctx context.Context) (bool, string, error) {
		err := e.admin.Get(ctx, client.ObjectKeyFromObject(svc), svc)
		return len(svc.Status.Resources) == 2, fmt.Sprintf("%+v", svc.Status.Resources), err
	})
	resolved, err := services.Resolve(e.ctx, e.admin, nil, svc)
	if err != nil {
		t.Fatal(err)
	}
	want := consumers.Rules([]*services.Resolved{resolved})
	if !hasRule(want, "caches.example.com", "caches") {
		t.Fatalf("the expected rules %+v have no rule for caches", want)
	}
	for _, c := range []*bindv1alpha1.Consumer{alice, bob} {
		e.waitForRules(c.Status.Namespace, want)
	}
}

func hasRule(rules []rbacv1.PolicyRule, group, resource string) bool {
	for _, r := range rules {
		if reflect.DeepEqual(r.APIGroups, []string{group}) && reflect.DeepEqual(r.Resources, []string{resource}) {
			return true
		}
	}
	return false
}

// waitForRules waits until the Consumer's Role in namespace has exactly the rules.
func (e *env) waitForRules(namespace string, want []rbacv1.PolicyRule) {
	e.t.Helper()
	framework.WaitFor(e.t, 30*time.Second, "the Role in "+namespace+" to have the desired rules", func(ctx context.Context) (bool, string, error) {
		role := &rbacv1.Role{}
		if err := e.admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: consumers.RoleName}, role); err != nil {
			return false, "", err
		}
		return reflect.DeepEqual(role.Rules, want), fmt.Sprintf("%+v", role.Rules), nil
	})
}

// TestDeletedServiceIsTakenOutOfTheRole: a bound Service that is deleted leaves its Consumers
// with a Role for nothing but the konnector's own token and Lease, and Ready False; its BoundAPIs
// are deleted, which tells the konnector to stop (test/e2e/resell: ServiceWithdrawn).
func TestDeletedServiceIsTakenOutOfTheRole(t *testing.T) {
	startControllers(t)
	e := newEnv(t)
	svc, consumer, _ := e.bindDatabases()

	if err := e.admin.Delete(e.ctx, svc); err != nil {
		t.Fatal(err)
	}
	ready := e.waitForReady(consumer, func() []metav1.Condition { return consumer.Status.Conditions }, metav1.ConditionFalse, bindv1alpha1.ConsumerReasonServiceNotFound)
	if !strings.Contains(ready.Message, svc.Name) {
		t.Errorf("Ready message %q does not name Service %s", ready.Message, svc.Name)
	}
	e.waitForRules(consumer.Status.Namespace, consumers.Rules(nil))
	framework.WaitFor(t, 30*time.Second, "the BoundAPIs of the deleted Service to go", func(ctx context.Context) (bool, string, error) {
		var apis bindv1alpha1.BoundAPIList
		if err := e.admin.List(ctx, &apis, client.InNamespace(consumer.Status.Namespace)); err != nil {
			return false, "", err
		}
		return len(apis.Items) == 0, fmt.Sprintf("%d BoundAPIs", len(apis.Items)), nil
	})
}
