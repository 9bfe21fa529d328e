package consumers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// quotaHard is the spec.hard of the ResourceQuota that caps a Consumer's objects: for every
// provider-side resource of the bound Services, count/<resource>.<group> (count/<resource> for
// the core group) at the Consumer's spec.quota or, without one, at the smallest quota of the
// Services that offer the resource. Empty when nothing is capped.
func quotaHard(consumer *bindv1alpha1.Consumer, bound boundServices) corev1.ResourceList {
	hard := corev1.ResourceList{}
	for _, resolved := range bound.resolved {
		limit := consumer.Spec.Quota
		if limit == nil {
			limit = bound.quotas[resolved.Service]
		}
		if limit == nil {
			continue
		}
		for _, res := range resolved.Resources {
			name := corev1.ResourceName("count/" + res.Bound.Provider.Resource)
			if g := res.Bound.Provider.Group; g != "" {
				name += corev1.ResourceName("." + g)
			}
			if have, ok := hard[name]; ok && have.Value() <= limit.MaxObjects {
				continue
			}
			hard[name] = *apiresource.NewQuantity(limit.MaxObjects, apiresource.DecimalSI)
		}
	}
	return hard
}

// ensureQuota writes the ResourceQuota QuotaName of the Consumer's namespace with the hard
// limits of quotaHard, or deletes it (if it is the Consumer's) when nothing is capped.
func (a access) ensureQuota(ctx context.Context, consumer *bindv1alpha1.Consumer, bound boundServices) error {
	namespace := NamespaceName(consumer.Name)
	hard := quotaHard(consumer, bound)
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: bindv1alpha1.QuotaName, Namespace: namespace}}
	if len(hard) > 0 {
		return a.apply(ctx, consumer, quota, func() { quota.Spec = corev1.ResourceQuotaSpec{Hard: hard} })
	}
	err := a.client.Get(ctx, client.ObjectKeyFromObject(quota), quota)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ResourceQuota %s/%s: %w", namespace, quota.Name, err)
	}
	if quota.Labels[bindv1alpha1.ConsumerLabel] != consumer.Name {
		return nil // someone else's: the provider's own limits stay
	}
	if err := a.client.Delete(ctx, quota); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting ResourceQuota %s/%s, as no Service of Consumer %s has a quota: %w", namespace, quota.Name, consumer.Name, err)
	}
	return nil
}
