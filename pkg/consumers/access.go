package consumers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

// access provisions and revokes what one Consumer owns; the Provisioner and the Reconciler share it.
type access struct {
	client client.Client
	// apis finds the APIs the Services' PublishedResources name (nil: the CRDs read through client).
	apis services.APIs
}

// boundServices is what a Consumer's bound Services came to.
type boundServices struct {
	resolved []*services.Resolved
	// missing are Services that do not exist; problems those that do not resolve.
	missing  []string
	problems []*services.Error
	// quotas are the resolved Services' spec.quota, by name.
	quotas map[string]*bindv1alpha1.ObjectQuota
}

// resolveBound resolves every Service the Consumer bound. A Service that is missing or does not
// resolve is noted and contributes nothing to the Role; an error is a failure to read.
func (a access) resolveBound(ctx context.Context, consumer *bindv1alpha1.Consumer) (boundServices, error) {
	var out boundServices
	for _, bound := range consumer.Spec.Services {
		svc := &bindv1alpha1.Service{}
		if err := a.client.Get(ctx, client.ObjectKey{Name: bound.Name}, svc); apierrors.IsNotFound(err) {
			out.missing = append(out.missing, bound.Name)
			continue
		} else if err != nil {
			return out, fmt.Errorf("reading Service %s: %w", bound.Name, err)
		}
		resolved, err := services.Resolve(ctx, a.client, a.apis, svc)
		if problem, ok := services.AsError(err); ok {
			out.problems = append(out.problems, problem)
			continue
		}
		if err != nil {
			return out, err
		}
		out.resolved = append(out.resolved, resolved)
		if svc.Spec.Quota != nil {
			if out.quotas == nil {
				out.quotas = map[string]*bindv1alpha1.ObjectQuota{}
			}
			out.quotas[svc.Name] = svc.Spec.Quota
		}
	}
	return out, nil
}

// provision brings the Consumer's access in line with its bound Services and returns the Ready
// condition that says how that went; an error means it should be tried again.
func (a access) provision(ctx context.Context, consumer *bindv1alpha1.Consumer) (metav1.Condition, error) {
	bound, err := a.resolveBound(ctx, consumer)
	if err == nil {
		err = a.ensure(ctx, consumer, Rules(bound.resolved))
	}
	if err == nil {
		err = a.ensureQuota(ctx, consumer, bound)
	}
	if err == nil {
		err = a.publishAPIs(ctx, consumer, bound)
	}
	if err != nil {
		return condition(consumer, metav1.ConditionFalse, bindv1alpha1.ConsumerReasonProvisionFailed, err.Error()), err
	}
	return readyCondition(consumer, bound), nil
}

// readyCondition is Ready for a Consumer whose access was provisioned for bound.
func readyCondition(consumer *bindv1alpha1.Consumer, bound boundServices) metav1.Condition {
	namespace := NamespaceName(consumer.Name)
	switch {
	case len(bound.missing) > 0:
		return condition(consumer, metav1.ConditionFalse, bindv1alpha1.ConsumerReasonServiceNotFound, fmt.Sprintf(
			"bound Service %s not found, so its resources are not in the Role of namespace %s and its BoundAPIs are deleted (the konnector stops and releases the objects; their copies stay); bind it again once it exists, or unbind it",
			strings.Join(bound.missing, ", "), namespace))
	case len(bound.problems) > 0:
		return condition(consumer, metav1.ConditionFalse, bindv1alpha1.ConsumerReasonServiceNotReady, fmt.Sprintf(
			"%s; the Service's resources are not in the Role of namespace %s until it is fixed", bound.problems[0].Error(), namespace))
	}
	names := make([]string, 0, len(bound.resolved))
	for _, r := range bound.resolved {
		names = append(names, r.Service)
	}
	return condition(consumer, metav1.ConditionTrue, bindv1alpha1.ConsumerReasonProvisioned, fmt.Sprintf(
		"ServiceAccount %s in namespace %s may use the resources of %s", ServiceAccountName, namespace, listOrNone(names)))
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "no Service"
	}
	return "Service " + strings.Join(names, ", ")
}

func condition(consumer *bindv1alpha1.Consumer, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{
		Type: bindv1alpha1.ConsumerConditionReady, Status: status, Reason: reason, Message: message,
		ObservedGeneration: consumer.Generation,
	}
}

// ensure creates or repairs the namespace, ServiceAccount, Role and RoleBinding of the Consumer.
// A namespace of that name that belongs to someone else is never adopted.
func (a access) ensure(ctx context.Context, consumer *bindv1alpha1.Consumer, rules []rbacv1.PolicyRule) error {
	namespace := NamespaceName(consumer.Name)
	if err := a.apply(ctx, consumer, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, func() {}); err != nil {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: namespace}}
	if err := a.apply(ctx, consumer, sa, func() {}); err != nil {
		return err
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: RoleName, Namespace: namespace}}
	if err := a.apply(ctx, consumer, role, func() { role.Rules = rules }); err != nil {
		return err
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: RoleName, Namespace: namespace}}
	return a.apply(ctx, consumer, binding, func() {
		binding.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: RoleName}
		binding.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccountName, Namespace: namespace}}
	})
}

// apply creates obj or updates it to what mutate sets, with the Consumer's label and controller
// reference. It refuses an object that exists with neither (someone else's), or is being deleted.
func (a access) apply(ctx context.Context, consumer *bindv1alpha1.Consumer, obj client.Object, mutate func()) error {
	kind := kindOf(a.client, obj)
	// A Bind and the Reconciler may provision the same Consumer at once: whoever loses the race to
	// create an object, or to update it, tries again with what the winner wrote.
	err := retry.OnError(retry.DefaultBackoff, raced, func() error { return a.createOrUpdate(ctx, consumer, obj, kind, mutate) })
	if err != nil {
		return fmt.Errorf("provisioning %s %s of Consumer %s: %w", kind, obj.GetName(), consumer.Name, err)
	}
	return nil
}

func raced(err error) bool { return apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) }

func (a access) createOrUpdate(ctx context.Context, consumer *bindv1alpha1.Consumer, obj client.Object, kind string, mutate func()) error {
	_, err := controllerutil.CreateOrUpdate(ctx, a.client, obj, func() error {
		ours := obj.GetLabels()[bindv1alpha1.ConsumerLabel] == consumer.Name || metav1.IsControlledBy(obj, consumer)
		if obj.GetResourceVersion() != "" && !ours {
			return fmt.Errorf("%s %s exists and does not belong to this Consumer; delete or rename it", kind, obj.GetName())
		}
		if obj.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s %s is being deleted; it is provisioned again once it is gone", kind, obj.GetName())
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[bindv1alpha1.ConsumerLabel] = consumer.Name
		obj.SetLabels(labels)
		mutate()
		return controllerutil.SetControllerReference(consumer, obj, a.client.Scheme())
	})
	return err
}

// kindOf names obj's kind for messages.
func kindOf(c client.Client, obj client.Object) string {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	return gvk.Kind
}

// revoke deletes the Consumer's RoleBinding, Role, ServiceAccount and namespace, in that order,
// and reports whether the ServiceAccount is gone: from then on no token issued for it is
// accepted. The namespace may take longer; its deletion is only requested. Nothing is deleted in
// a namespace that is not the Consumer's.
func (a access) revoke(ctx context.Context, consumer *bindv1alpha1.Consumer) (bool, error) {
	namespace := NamespaceName(consumer.Name)
	ns := &corev1.Namespace{}
	if err := a.client.Get(ctx, client.ObjectKey{Name: namespace}, ns); apierrors.IsNotFound(err) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	if ns.Labels[bindv1alpha1.ConsumerLabel] != consumer.Name {
		return true, nil
	}
	meta := metav1.ObjectMeta{Name: RoleName, Namespace: namespace}
	objects := []client.Object{
		&rbacv1.RoleBinding{ObjectMeta: meta},
		&rbacv1.Role{ObjectMeta: meta},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: namespace}},
		ns,
	}
	if ns.DeletionTimestamp != nil {
		// Deleting a namespace again while it terminates is refused as a conflict.
		objects = objects[:3]
	}
	for _, obj := range objects {
		if err := a.client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("revoking Consumer %s: deleting %s: %w", consumer.Name, obj.GetName(), err)
		}
	}
	err := a.client.Get(ctx, client.ObjectKeyFromObject(objects[2]), &corev1.ServiceAccount{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, client.IgnoreNotFound(err)
}

// hasService reports whether the Consumer bound the Service.
func hasService(consumer *bindv1alpha1.Consumer, name string) bool {
	return slices.ContainsFunc(consumer.Spec.Services, func(s bindv1alpha1.BoundService) bool { return s.Name == name })
}
