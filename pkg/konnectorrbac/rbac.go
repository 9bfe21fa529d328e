package konnectorrbac

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/templating"
)

const (
	// AggregationLabel, set to "true" on a ClusterRole, adds its rules to the konnector's
	// aggregated ClusterRole.
	AggregationLabel = "bind.bindery.dev/aggregate-to-konnector"
	// BindingLabel marks a BindingClusterRole with the ServiceBinding it grants for (as a DNS
	// label: a binding name longer than a label value is shortened with a hash).
	BindingLabel = "bind.bindery.dev/binding"
)

// Verbs the konnector has on the resources a binding receives: it reads the consumer's objects,
// adds and removes its finalizer, and writes status and related fields back. It never creates
// or deletes them: the consumer's objects are the source of truth.
var receivedVerbs = []string{"get", "list", "watch", "update", "patch"}

// ClusterRole is the konnector's ClusterRole: an aggregationRule selecting the ClusterRoles
// labelled AggregationLabel=true (CoreClusterRole and one BindingClusterRole per binding), and
// no rules of its own, because the aggregation controller owns an aggregated role's rules.
func ClusterRole(name string) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{
			MatchLabels: map[string]string{AggregationLabel: "true"},
		}}},
	}
}

// CoreClusterRoleName is the name of the CoreClusterRole that goes with the ClusterRole name.
func CoreClusterRoleName(name string) string { return name + "-core" }

// CoreClusterRole holds what every konnector needs whatever it binds, aggregated into
// ClusterRole(name).
func CoreClusterRole(name string) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: CoreClusterRoleName(name), Labels: map[string]string{AggregationLabel: "true"}},
		Rules:      CoreRules(),
	}
}

// CoreRules are the rules of CoreClusterRole.
func CoreRules() []rbacv1.PolicyRule {
	bind := bindv1alpha1.GroupVersion.Group
	return []rbacv1.PolicyRule{
		// update and patch only to add and remove its finalizer: RBAC cannot narrow a write to
		// metadata.finalizers, and the finalizers subresource below is what owner references
		// with blockOwnerDeletion are checked against.
		{APIGroups: []string{bind}, Resources: []string{"servicebindings"}, Verbs: []string{"get", "list", "watch", "update", "patch"}},
		{APIGroups: []string{bind}, Resources: []string{"servicebindings/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{bind}, Resources: []string{"servicebindings/finalizers"}, Verbs: []string{"update"}},
		// Its credential Secrets (renewed in place) and the related credentials Secrets it writes
		// next to the consumer's objects, which it deletes with them.
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		// The received APIs are installed as CRDs and follow the provider's schema; removing a CRD
		// would delete every consumer object of it, so that is left to a person.
		{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch"}},
		{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		// The kube-system namespace's UID is the cluster's identity; namespace labels select objects.
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
	}
}

// LeaderElectionRole lets the konnector hold its leader-election Lease in its own namespace.
func LeaderElectionRole(name, namespace string) *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch"},
		}},
	}
}

// ClusterRoleBinding binds the ClusterRole name to the konnector's ServiceAccount.
func ClusterRoleBinding(name, namespace, serviceAccount string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: serviceAccount}},
	}
}

// LeaderElectionRoleBinding binds LeaderElectionRole(name, namespace) to the konnector's
// ServiceAccount.
func LeaderElectionRoleBinding(name, namespace, serviceAccount string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: serviceAccount}},
	}
}

// BindingClusterRoleName is the name of the BindingClusterRole of the ServiceBinding binding.
func BindingClusterRoleName(binding string) string { return "bindery-konnector:binding:" + binding }

// BindingClusterRole grants the konnector exactly the resources the ServiceBinding binding
// receives, with their status and finalizers subresources, and the kinds of their related
// objects (RelatedRules), and is aggregated into its ClusterRole.
func BindingClusterRole(binding string, resources []schema.GroupResource, related ...schema.GroupResource) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{
			Name:   BindingClusterRoleName(binding),
			Labels: map[string]string{AggregationLabel: "true", BindingLabel: templating.DNSLabel(binding)},
		},
		Rules: append(BindingRules(resources), RelatedRules(related)...),
	}
}

// relatedVerbs: the konnector reads related originals of the consumer, and creates, updates and
// deletes the copies of the provider's next to the consumer's objects.
var relatedVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// RelatedRules grant the kinds of related objects a binding's resources carry, one rule per API
// group in a stable order. Secrets are left out (CoreRules grants them to every konnector), and
// a kind that ValidRelated refuses is dropped, so that a backend can never widen the grant into
// Kubernetes' own APIs; callers check ValidRelated first to tell the user.
func RelatedRules(related []schema.GroupResource) []rbacv1.PolicyRule {
	byGroup := map[string]map[string]bool{}
	for _, gr := range related {
		if ValidRelated(gr) != nil || gr == (schema.GroupResource{Resource: "secrets"}) {
			continue
		}
		if byGroup[gr.Group] == nil {
			byGroup[gr.Group] = map[string]bool{}
		}
		byGroup[gr.Group][gr.Resource] = true
	}
	rules := make([]rbacv1.PolicyRule, 0, len(byGroup))
	for _, group := range sortedKeys(byGroup) {
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups: []string{group}, Resources: sortedKeys(byGroup[group]), Verbs: append([]string(nil), relatedVerbs...),
		})
	}
	return rules
}

// relatedCoreResources are the kinds of Kubernetes' own core group that may travel as related
// objects: data, never workloads or anything that grants rights.
var relatedCoreResources = map[string]bool{"secrets": true, "configmaps": true}

// ValidRelated says why gr cannot be a related kind the konnector is granted, or nil: Secrets
// and ConfigMaps of the core group, or a resource of a group that ValidGroup accepts.
func ValidRelated(gr schema.GroupResource) error {
	if gr.Group == "" {
		if !relatedCoreResources[gr.Resource] {
			return fmt.Errorf("related resource %q of the core group: only secrets and configmaps may travel with a binding's objects", gr.Resource)
		}
		return nil
	}
	if err := ValidReceived(gr); err != nil {
		return fmt.Errorf("related %w", err)
	}
	return nil
}

// BindingRules are the rules of a BindingClusterRole: one per API group, in a stable order so
// that applying the same binding twice changes nothing. A resource that ValidReceived refuses
// is dropped, so that what a backend sends can never widen into a wildcard or a built-in API;
// callers check ValidReceived first to tell the user.
func BindingRules(resources []schema.GroupResource) []rbacv1.PolicyRule {
	byGroup := map[string]map[string]bool{}
	for _, gr := range resources {
		if ValidReceived(gr) != nil {
			continue
		}
		if byGroup[gr.Group] == nil {
			byGroup[gr.Group] = map[string]bool{}
		}
		for _, r := range []string{gr.Resource, gr.Resource + "/status", gr.Resource + "/finalizers"} {
			byGroup[gr.Group][r] = true
		}
	}
	rules := make([]rbacv1.PolicyRule, 0, len(byGroup))
	for _, group := range sortedKeys(byGroup) {
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups: []string{group}, Resources: sortedKeys(byGroup[group]), Verbs: append([]string(nil), receivedVerbs...),
		})
	}
	return rules
}

// ValidReceived says why gr cannot be a received resource, or nil: the resource must be a plain
// lowercase name (no "*", no "/"), and the group one that ValidGroup accepts.
func ValidReceived(gr schema.GroupResource) error {
	if errs := validation.IsDNS1123Label(gr.Resource); len(errs) > 0 {
		return fmt.Errorf("resource %q is not a plain resource name: %s", gr.Resource, strings.Join(errs, "; "))
	}
	if err := ValidGroup(gr.Group); err != nil {
		return fmt.Errorf("%w (of resource %s)", err, gr.Resource)
	}
	return nil
}

// ValidGroup says why group cannot hold received resources, or nil: it must be a DNS subdomain
// with a dot, as a CRD's group must be, and not one of Kubernetes' own (k8s.io, kubernetes.io
// and their subdomains), where no CRD is installed without an approval and the konnector has
// no business.
func ValidGroup(group string) error {
	errs := validation.IsDNS1123Subdomain(group)
	if len(errs) == 0 && !strings.Contains(group, ".") {
		errs = []string{"it needs at least one dot"}
	}
	if len(errs) > 0 {
		return fmt.Errorf("group %q is not a DNS subdomain with a dot, as a CRD's group must be: %s", group, strings.Join(errs, "; "))
	}
	for _, reserved := range []string{"k8s.io", "kubernetes.io"} {
		if group == reserved || strings.HasSuffix(group, "."+reserved) {
			return fmt.Errorf("group %q belongs to Kubernetes itself", group)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
