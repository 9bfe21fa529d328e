package konnectorrbac

import (
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// noWildcard fails the test when any rule holds "*" in any field.
func noWildcard(t *testing.T, what string, rules []rbacv1.PolicyRule) {
	t.Helper()
	for _, r := range rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			for _, v := range field {
				if strings.Contains(v, "*") {
					t.Errorf("%s has a wildcard in rule %+v", what, r)
				}
			}
		}
		if len(r.APIGroups) == 0 || len(r.Resources) == 0 || len(r.Verbs) == 0 {
			t.Errorf("%s has an incomplete rule %+v", what, r)
		}
	}
}

func TestTheRolesHaveNoWildcard(t *testing.T) {
	noWildcard(t, "CoreClusterRole", CoreClusterRole("bindery-konnector").Rules)
	noWildcard(t, "LeaderElectionRole", LeaderElectionRole("le", "bindery-system").Rules)
	noWildcard(t, "BindingClusterRole", BindingClusterRole("dbs", []schema.GroupResource{
		{Group: "databases.example.com", Resource: "databases"}, {Group: "*", Resource: "pods"},
		{Group: "databases.example.com", Resource: "*"}, {Group: "", Resource: "secrets"},
	}).Rules)
}

func TestTheAggregateSelectsTheCoreAndBindingRoles(t *testing.T) {
	agg := ClusterRole("bindery-konnector")
	if len(agg.Rules) != 0 {
		t.Errorf("the aggregated role has rules of its own, which the aggregation controller would overwrite: %v", agg.Rules)
	}
	if agg.AggregationRule == nil || len(agg.AggregationRule.ClusterRoleSelectors) != 1 {
		t.Fatalf("aggregationRule = %+v, want one selector", agg.AggregationRule)
	}
	selector, err := metav1.LabelSelectorAsSelector(&agg.AggregationRule.ClusterRoleSelectors[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []*rbacv1.ClusterRole{CoreClusterRole("bindery-konnector"), BindingClusterRole("dbs", nil)} {
		if !selector.Matches(labels.Set(role.Labels)) {
			t.Errorf("%s (labels %v) is not selected by %s", role.Name, role.Labels, selector)
		}
	}
	if selector.Matches(labels.Set{"app": "other"}) {
		t.Errorf("the selector %s matches a role without %s", selector, AggregationLabel)
	}
}

func TestBindingRulesGrantExactlyTheReceivedResources(t *testing.T) {
	got := BindingRules([]schema.GroupResource{
		{Group: "db.example.com", Resource: "postgreses"},
		{Group: "cache.example.com", Resource: "redises"},
		{Group: "db.example.com", Resource: "backups"},
		{Group: "db.example.com", Resource: "backups"},
	})
	verbs := []string{"get", "list", "watch", "update", "patch"}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"cache.example.com"}, Resources: []string{"redises", "redises/finalizers", "redises/status"}, Verbs: verbs},
		{APIGroups: []string{"db.example.com"}, Resources: []string{"backups", "backups/finalizers", "backups/status", "postgreses", "postgreses/finalizers", "postgreses/status"}, Verbs: verbs},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules\n%+v\nwant\n%+v", got, want)
	}
}

func TestValidReceivedRefusesWhatWouldWidenTheGrant(t *testing.T) {
	for _, tc := range []struct {
		gr   schema.GroupResource
		want string
	}{
		{schema.GroupResource{Group: "db.example.com", Resource: "*"}, "not a plain resource name"},
		{schema.GroupResource{Group: "db.example.com", Resource: "databases/status"}, "not a plain resource name"},
		{schema.GroupResource{Group: "", Resource: "pods"}, "not a DNS subdomain with a dot"},
		{schema.GroupResource{Group: "apps", Resource: "deployments"}, "not a DNS subdomain with a dot"},
		{schema.GroupResource{Group: "*", Resource: "pods"}, "not a DNS subdomain with a dot"},
		{schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, "belongs to Kubernetes itself"},
		{schema.GroupResource{Group: "x.kubernetes.io", Resource: "things"}, "belongs to Kubernetes itself"},
	} {
		if err := ValidReceived(tc.gr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidReceived(%v) = %v, want %q", tc.gr, err, tc.want)
		}
	}
	if err := ValidReceived(schema.GroupResource{Group: "db.example.com", Resource: "databases"}); err != nil {
		t.Errorf("a CRD's resource refused: %v", err)
	}
}

func TestBindingRoleNameAndLabel(t *testing.T) {
	long := strings.Repeat("a", 70) + ".example.com"
	role := BindingClusterRole(long, nil)
	if role.Name != "bindery-konnector:binding:"+long {
		t.Errorf("name %q", role.Name)
	}
	if v := role.Labels[BindingLabel]; len(v) > 63 || !strings.HasPrefix(v, "aaaa") {
		t.Errorf("binding label %q is not a shortened label value", v)
	}
	if v := BindingClusterRole("dbs", nil).Labels[BindingLabel]; v != "dbs" {
		t.Errorf("binding label %q, want the name itself", v)
	}
}

func TestRelatedRulesGrantDataKindsOnly(t *testing.T) {
	got := RelatedRules([]schema.GroupResource{
		{Resource: "secrets"}, {Resource: "configmaps"}, {Resource: "pods"}, {Resource: "configmaps"},
		{Group: "rbac.authorization.k8s.io", Resource: "roles"}, {Group: "certs.example.com", Resource: "certificates"},
	})
	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: verbs},
		{APIGroups: []string{"certs.example.com"}, Resources: []string{"certificates"}, Verbs: verbs},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RelatedRules = %+v\nwant %+v", got, want)
	}
	for gr, wantErr := range map[schema.GroupResource]string{
		{Resource: "pods"}:                                       `related resource "pods" of the core group`,
		{Resource: "serviceaccounts"}:                            `related resource "serviceaccounts" of the core group`,
		{Group: "rbac.authorization.k8s.io", Resource: "roles"}:  "belongs to Kubernetes itself",
		{Group: "certs.example.com", Resource: "certificates/*"}: "not a plain resource name",
	} {
		if err := ValidRelated(gr); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ValidRelated(%v) = %v, want %q", gr, err, wantErr)
		}
	}
	for _, gr := range []schema.GroupResource{{Resource: "secrets"}, {Resource: "configmaps"}, {Group: "certs.example.com", Resource: "certificates"}} {
		if err := ValidRelated(gr); err != nil {
			t.Errorf("ValidRelated(%v) = %v, want nil", gr, err)
		}
	}
}
