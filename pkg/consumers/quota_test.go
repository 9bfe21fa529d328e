package consumers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

func TestQuotaHardTakesTheConsumersQuotaOrTheSmallestServices(t *testing.T) {
	databases := &services.Resolved{Service: "databases", Resources: []services.Resource{resource("databases.example.com", "databases")}}
	caches := &services.Resolved{Service: "caches", Resources: []services.Resource{
		resource("caches.example.com", "caches"),
		resource("databases.example.com", "databases"),
		resource("", "configmaps"),
	}}
	free := &services.Resolved{Service: "free", Resources: []services.Resource{resource("free.example.com", "things")}}
	bound := boundServices{
		resolved: []*services.Resolved{databases, caches, free},
		quotas:   map[string]*bindv1alpha1.ObjectQuota{"databases": {MaxObjects: 10}, "caches": {MaxObjects: 3}},
	}
	count := func(n int64) apiresource.Quantity { return *apiresource.NewQuantity(n, apiresource.DecimalSI) }
	for _, tc := range []struct {
		name     string
		consumer *bindv1alpha1.ObjectQuota
		want     corev1.ResourceList
	}{
		{"the Services' quotas, the smaller one where two offer a resource", nil, corev1.ResourceList{
			"count/databases.databases.example.com": count(3), "count/caches.caches.example.com": count(3), "count/configmaps": count(3),
		}},
		{"the Consumer's quota for every bound resource", &bindv1alpha1.ObjectQuota{MaxObjects: 25}, corev1.ResourceList{
			"count/databases.databases.example.com": count(25), "count/caches.caches.example.com": count(25), "count/configmaps": count(25),
			"count/things.free.example.com": count(25),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			consumer := &bindv1alpha1.Consumer{Spec: bindv1alpha1.ConsumerSpec{Quota: tc.consumer}}
			got := quotaHard(consumer, bound)
			if len(got) != len(tc.want) {
				t.Fatalf("quotaHard = %v, want %v", got, tc.want)
			}
			for name, q := range tc.want {
				if have, ok := got[name]; !ok || have.Cmp(q) != 0 {
					t.Errorf("quotaHard[%s] = %v, want %v", name, got[name], q.String())
				}
			}
		})
	}
	if got := quotaHard(&bindv1alpha1.Consumer{}, boundServices{resolved: []*services.Resolved{free}}); len(got) != 0 {
		t.Errorf("quotaHard without quotas = %v, want nothing capped", got)
	}
}
