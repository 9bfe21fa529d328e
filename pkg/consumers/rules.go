package consumers

import (
	"cmp"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

var (
	// readVerbs are what a konnector needs on objects the provider writes.
	readVerbs = []string{"get", "list", "watch"}
	// writeVerbs are what it needs on the copies of the consumer's objects.
	writeVerbs = []string{"create", "delete", "get", "list", "patch", "update", "watch"}
)

// Rules are the rules of a Consumer's Role for the Services it bound: every verb on the
// provider-side resource of each PublishedResource (the copies of the consumer's objects) and on
// related kinds whose originals are the consumer's, read on related kinds the provider writes,
// creating tokens for its own ServiceAccount only, and its heartbeat Lease. The Role lives in
// the Consumer's namespace, so that is all it reaches. The rules are sorted, one per group and
// resource, so that equal access gives equal rules.
func Rules(bound []*services.Resolved) []rbacv1.PolicyRule {
	verbs := map[schema.GroupResource]sets.Set[string]{}
	grant := func(gr schema.GroupResource, vs []string) {
		if verbs[gr] == nil {
			verbs[gr] = sets.New[string]()
		}
		verbs[gr].Insert(vs...)
	}
	for _, resolved := range bound {
		for _, res := range resolved.Resources {
			grant(schema.GroupResource{Group: res.Bound.Provider.Group, Resource: res.Bound.Provider.Resource}, writeVerbs)
			for _, rel := range res.Related {
				if rel.Origin == syncagentv1alpha1.OriginConsumer {
					grant(rel.Provider.GroupResource(), writeVerbs)
				} else {
					grant(rel.Provider.GroupResource(), readVerbs)
				}
			}
		}
	}
	resources := make([]schema.GroupResource, 0, len(verbs))
	for gr := range verbs {
		resources = append(resources, gr)
	}
	slices.SortFunc(resources, func(a, b schema.GroupResource) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Resource, b.Resource))
	})
	rules := make([]rbacv1.PolicyRule, 0, len(resources)+4)
	for _, gr := range resources {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{gr.Group}, Resources: []string{gr.Resource}, Verbs: sets.List(verbs[gr])})
	}
	return append(rules, ownRules()...)
}

// ownRules let the konnector read its BoundAPIs, renew its credential and heartbeat. RBAC cannot
// limit create by name, so any Lease may be created, but only the heartbeat Lease read and renewed.
func ownRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{bindv1alpha1.GroupVersion.Group}, Resources: []string{"boundapis"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, ResourceNames: []string{ServiceAccountName}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{LeaseName}, Verbs: []string{"get", "patch", "update"}},
	}
}
