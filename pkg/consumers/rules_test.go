package consumers

import (
	"reflect"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/services"
)

func resource(group, plural string, related ...services.Related) services.Resource {
	return services.Resource{
		Bound:   bindprotocol.BoundResource{Provider: bindprotocol.Resource{Group: group, Resource: plural}},
		Related: related,
	}
}

func relatedOf(origin syncagentv1alpha1.RelatedOrigin, group, plural string) services.Related {
	return services.Related{Origin: origin, Provider: schema.GroupVersionResource{Group: group, Version: "v1", Resource: plural}}
}

func TestRulesAllowExactlyTheBoundResources(t *testing.T) {
	databases := &services.Resolved{Service: "databases", Resources: []services.Resource{
		resource("databases.example.com", "databases",
			relatedOf(syncagentv1alpha1.OriginProvider, "", "secrets"),
			relatedOf(syncagentv1alpha1.OriginConsumer, "", "configmaps")),
	}}
	caches := &services.Resolved{Service: "caches", Resources: []services.Resource{
		resource("caches.example.com", "caches", relatedOf(syncagentv1alpha1.OriginProvider, "", "secrets")),
		// Bound twice (two Services offer it): one rule.
		resource("databases.example.com", "databases"),
	}}
	write := []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: write},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"caches.example.com"}, Resources: []string{"caches"}, Verbs: write},
		{APIGroups: []string{"databases.example.com"}, Resources: []string{"databases"}, Verbs: write},
		{APIGroups: []string{"bind.bindery.dev"}, Resources: []string{"boundapis"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, ResourceNames: []string{ServiceAccountName}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{LeaseName}, Verbs: []string{"get", "patch", "update"}},
	}
	got := Rules([]*services.Resolved{databases, caches})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Rules =\n%+v\nwant\n%+v", got, want)
	}
	if again := Rules([]*services.Resolved{caches, databases}); !reflect.DeepEqual(again, want) {
		t.Errorf("Rules depend on the order of the Services:\n%+v", again)
	}
}

func TestRulesOfARelatedKindOfBothOrigins(t *testing.T) {
	both := &services.Resolved{Resources: []services.Resource{resource("databases.example.com", "databases",
		relatedOf(syncagentv1alpha1.OriginProvider, "", "secrets"),
		relatedOf(syncagentv1alpha1.OriginConsumer, "", "secrets"))}}
	rules := Rules([]*services.Resolved{both})
	if secrets := rules[0]; secrets.Resources[0] != "secrets" || len(secrets.Verbs) != 7 {
		t.Fatalf("secrets rule = %+v, want every verb: the consumer writes some of them", secrets)
	}
}

func TestRulesWithoutServicesAllowOnlyTheKonnectorsOwn(t *testing.T) {
	if got := Rules(nil); !reflect.DeepEqual(got, ownRules()) {
		t.Fatalf("Rules(nil) = %+v, want only the token and Lease rules", got)
	}
}
