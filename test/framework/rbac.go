package framework

import (
	"sort"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
)

// AggregateClusterRole does for the ClusterRole name what kube-controller-manager's
// clusterrole-aggregation controller does in a real cluster (envtest runs none): it sets the
// role's rules to those of the ClusterRoles its aggregationRule selects, in name order.
func AggregateClusterRole(t testing.TB, c ctrlclient.Client, name string) {
	t.Helper()
	ctx := Context(t)
	role := &rbacv1.ClusterRole{}
	if err := c.Get(ctx, ctrlclient.ObjectKey{Name: name}, role); err != nil {
		t.Fatalf("reading ClusterRole %s: %v", name, err)
	}
	if role.AggregationRule == nil {
		t.Fatalf("ClusterRole %s has no aggregationRule", name)
	}
	var rules []rbacv1.PolicyRule
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatal(err)
		}
		selected := &rbacv1.ClusterRoleList{}
		if err := c.List(ctx, selected, ctrlclient.MatchingLabelsSelector{Selector: selector}); err != nil {
			t.Fatal(err)
		}
		sort.Slice(selected.Items, func(i, j int) bool { return selected.Items[i].Name < selected.Items[j].Name })
		for _, r := range selected.Items {
			if r.Name != name {
				rules = append(rules, r.Rules...)
			}
		}
	}
	role.Rules = rules
	if err := c.Update(ctx, role); err != nil {
		t.Fatalf("aggregating ClusterRole %s: %v", name, err)
	}
}
