package consumers

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/services"
)

// TestBindProvisions: a bind creates the Consumer and everything it owns, labelled and owned by
// it, before it returns; binding again changes nothing; another user who sends the same cluster
// ID gets a Consumer of their own.
func TestBindProvisions(t *testing.T) {
	e := newEnv(t)
	e.publish(databases, nil, credentials())
	svc := e.service()
	alice := user("alice")

	consumer, resolved := e.bind(alice, "cluster-1", svc.Name)
	if consumer.Name != consumers.Name(alice, "cluster-1") || len(resolved.CRDs()) != 1 {
		t.Fatalf("Consumer %s with %d CRDs, want %s with one", consumer.Name, len(resolved.CRDs()), consumers.Name(alice, "cluster-1"))
	}
	if consumer.Spec.Identity != alice || consumer.Spec.Cluster != cluster("cluster-1") ||
		!reflect.DeepEqual(consumer.Spec.Services, []bindv1alpha1.BoundService{{Name: svc.Name}}) {
		t.Errorf("spec = %+v, want alice's cluster-1 with %s", consumer.Spec, svc.Name)
	}
	namespace := consumers.NamespaceName(consumer.Name)
	if consumer.Status.Namespace != namespace || consumer.Status.ServiceAccount != consumers.ServiceAccountName {
		t.Errorf("status = %+v, want namespace %s and ServiceAccount %s", consumer.Status, namespace, consumers.ServiceAccountName)
	}
	e.expectReady(consumer, metav1.ConditionTrue, bindv1alpha1.ConsumerReasonProvisioned)

	role := e.expectOwned(consumer, &rbacv1.Role{}, namespace, consumers.RoleName).(*rbacv1.Role)
	if want := consumers.Rules([]*services.Resolved{resolved}); !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("Role rules = %+v\nwant %+v", role.Rules, want)
	}
	binding := e.expectOwned(consumer, &rbacv1.RoleBinding{}, namespace, consumers.RoleName).(*rbacv1.RoleBinding)
	if s := binding.Subjects; len(s) != 1 || s[0].Kind != "ServiceAccount" || s[0].Name != consumers.ServiceAccountName || s[0].Namespace != namespace ||
		binding.RoleRef.Kind != "Role" || binding.RoleRef.Name != consumers.RoleName {
		t.Errorf("RoleBinding %+v, want the Role bound to the ServiceAccount", binding)
	}
	e.expectOwned(consumer, &corev1.ServiceAccount{}, namespace, consumers.ServiceAccountName)
	e.expectOwned(consumer, &corev1.Namespace{}, "", namespace)

	again, _ := e.bind(alice, "cluster-1", svc.Name)
	roleAgain := e.expectOwned(again, &rbacv1.Role{}, namespace, consumers.RoleName)
	if again.Name != consumer.Name || len(again.Spec.Services) != 1 || again.Generation != consumer.Generation ||
		roleAgain.GetResourceVersion() != role.ResourceVersion {
		t.Errorf("binding again changed something: Consumer %s generation %d -> %d, services %+v, Role %s -> %s",
			again.Name, consumer.Generation, again.Generation, again.Spec.Services, role.ResourceVersion, roleAgain.GetResourceVersion())
	}

	bob, _ := e.bind(user("bob"), "cluster-1", svc.Name)
	if bob.Name == consumer.Name || bob.Status.Namespace == namespace {
		t.Errorf("bob got alice's Consumer %s / namespace %s", bob.Name, bob.Status.Namespace)
	}
}

// expectReady checks the Ready condition of a Consumer as returned by a bind.
func (e *env) expectReady(consumer *bindv1alpha1.Consumer, status metav1.ConditionStatus, reason string) {
	e.t.Helper()
	for _, c := range consumer.Status.Conditions {
		if c.Type == bindv1alpha1.ConsumerConditionReady {
			if c.Status != status || c.Reason != reason || c.ObservedGeneration != consumer.Generation {
				e.t.Errorf("Ready = %+v, want %s %s for generation %d", c, status, reason, consumer.Generation)
			}
			return
		}
	}
	e.t.Errorf("Consumer %s has no Ready condition", consumer.Name)
}

// expectOwned reads an object and checks that it carries the Consumer's label and controller reference.
func (e *env) expectOwned(consumer *bindv1alpha1.Consumer, obj client.Object, namespace, name string) client.Object {
	e.t.Helper()
	if err := e.admin.Get(e.ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		e.t.Fatalf("reading %T %s: %v", obj, name, err)
	}
	if obj.GetLabels()[bindv1alpha1.ConsumerLabel] != consumer.Name {
		e.t.Errorf("%T %s has labels %v, want %s=%s", obj, name, obj.GetLabels(), bindv1alpha1.ConsumerLabel, consumer.Name)
	}
	owner := metav1.GetControllerOf(obj)
	if owner == nil || owner.Kind != "Consumer" || owner.Name != consumer.Name || owner.UID != consumer.UID {
		e.t.Errorf("%T %s has controller %+v, want Consumer %s", obj, name, owner, consumer.Name)
	}
	return obj
}

// TestBindCreatesNothingForAServiceThatCannotBeBound: a missing Service, or one that selects
// nothing, leaves no Consumer and no namespace behind.
func TestBindCreatesNothingForAServiceThatCannotBeBound(t *testing.T) {
	e := newEnv(t)
	empty := e.service()
	alice := user("alice")
	for _, tc := range []struct {
		service string
		want    func(error) bool
	}{
		{"no-such-service", func(err error) bool { return errors.Is(err, consumers.ErrServiceNotFound) }},
		{empty.Name, func(err error) bool {
			problem, ok := services.AsError(err)
			return ok && problem.Reason == bindv1alpha1.ServiceReasonNoResources
		}},
	} {
		_, _, err := e.provisioner.Bind(e.ctx, alice, cluster("cluster-1"), tc.service)
		if !tc.want(err) {
			t.Errorf("binding %s: %v", tc.service, err)
		}
	}
	name := consumers.Name(alice, "cluster-1")
	if err := e.admin.Get(e.ctx, client.ObjectKey{Name: name}, &bindv1alpha1.Consumer{}); !apierrors.IsNotFound(err) {
		t.Errorf("Consumer %s: %v, want not found", name, err)
	}
	byConsumer := client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(labels.Set{bindv1alpha1.ConsumerLabel: name})}
	namespaces := &corev1.NamespaceList{}
	if err := e.admin.List(e.ctx, namespaces, byConsumer); err != nil || len(namespaces.Items) > 0 {
		t.Errorf("namespaces of %s: %v, %d; want none", name, err, len(namespaces.Items))
	}
	all := &bindv1alpha1.ConsumerList{}
	if err := e.admin.List(e.ctx, all); err != nil {
		t.Fatal(err)
	}
	for _, c := range all.Items {
		if c.Spec.Identity.Subject == alice.Subject {
			t.Errorf("Consumer %s of alice exists", c.Name)
		}
	}
}

// TestBindRefusesAConsumerOfAnotherIdentity: a Consumer of the name a bind computes that belongs
// to another subject (a collision, or a Consumer made by hand) is never taken over.
func TestBindRefusesAConsumerOfAnotherIdentity(t *testing.T) {
	e := newEnv(t)
	e.publish(databases, nil)
	svc := e.service()
	alice, mallory := user("alice"), user("mallory")
	squatter := &bindv1alpha1.Consumer{
		ObjectMeta: metav1.ObjectMeta{Name: consumers.Name(alice, "cluster-1")},
		Spec:       bindv1alpha1.ConsumerSpec{Identity: mallory, Cluster: cluster("cluster-1")},
	}
	e.create(squatter)
	if _, _, err := e.provisioner.Bind(e.ctx, alice, cluster("cluster-1"), svc.Name); !errors.Is(err, consumers.ErrIdentityMismatch) {
		t.Fatalf("Bind = %v, want ErrIdentityMismatch", err)
	}
	if err := e.admin.Get(e.ctx, client.ObjectKey{Name: consumers.NamespaceName(squatter.Name)}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace of the refused bind: %v, want not found", err)
	}
}

// TestBindNeverAdoptsAForeignNamespace: a namespace of the name a Consumer needs that is not
// the Consumer's is left alone, and the Consumer says why it is not provisioned.
func TestBindNeverAdoptsAForeignNamespace(t *testing.T) {
	e := newEnv(t)
	e.publish(databases, nil)
	svc := e.service()
	alice := user("alice")
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: consumers.NamespaceName(consumers.Name(alice, "cluster-1"))}}
	e.create(foreign)

	_, _, err := e.provisioner.Bind(e.ctx, alice, cluster("cluster-1"), svc.Name)
	if err == nil {
		t.Fatal("Bind into a foreign namespace succeeded")
	}
	t.Cleanup(func() { e.releaseConsumer(consumers.Name(alice, "cluster-1")) })
	if err := e.admin.Get(e.ctx, client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Fatal(err)
	}
	if _, labelled := foreign.Labels[bindv1alpha1.ConsumerLabel]; labelled || len(foreign.OwnerReferences) > 0 {
		t.Errorf("the foreign namespace was taken: labels %v, owners %v", foreign.Labels, foreign.OwnerReferences)
	}
	consumer := &bindv1alpha1.Consumer{}
	if err := e.admin.Get(e.ctx, client.ObjectKey{Name: consumers.Name(alice, "cluster-1")}, consumer); err != nil {
		t.Fatal(err)
	}
	e.expectReady(consumer, metav1.ConditionFalse, bindv1alpha1.ConsumerReasonProvisionFailed)
}
