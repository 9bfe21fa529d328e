package syncspec

import (
	"fmt"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// postgresCRD is a provider CRD with two served versions; v1beta2 stores and has a status
// subresource, v1beta1 has none.
func postgresCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "postgresclusters.internal.dbs.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "internal.dbs.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "postgresclusters", Singular: "postgrescluster", Kind: "PostgresCluster", ListKind: "PostgresClusterList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1beta1", Served: true},
				{Name: "v1beta2", Served: true, Storage: true, Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
				}},
			},
		},
	}
}

// newSpec returns a PublishedResourceSpec of postgresCRD, changed by each of mods.
func newSpec(mods ...func(*syncagentv1alpha1.PublishedResourceSpec)) syncagentv1alpha1.PublishedResourceSpec {
	s := syncagentv1alpha1.PublishedResourceSpec{
		Resource: syncagentv1alpha1.SourceResource{APIGroup: "internal.dbs.example.com", Kind: "PostgresCluster"},
	}
	for _, mod := range mods {
		mod(&s)
	}
	return s
}

func withProjection(p syncagentv1alpha1.Projection) func(*syncagentv1alpha1.PublishedResourceSpec) {
	return func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Projection = &p }
}

func withRelated(rel ...syncagentv1alpha1.RelatedResource) func(*syncagentv1alpha1.PublishedResourceSpec) {
	return func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Related = append(s.Related, rel...) }
}

// providerKinds stands for the provider cluster's RESTMapper.
func providerKinds(gvr schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	kinds := map[schema.GroupVersionResource]string{
		{Version: "v1", Resource: "secrets"}:                                              "Secret",
		{Version: "v1", Resource: "configmaps"}:                                           "ConfigMap",
		{Group: "internal.certs.example.com", Version: "v1", Resource: "tlscertificates"}: "TLSCertificate",
	}
	kind, ok := kinds[gvr]
	if !ok {
		return schema.GroupVersionKind{}, fmt.Errorf("no matches for %s", gvr)
	}
	return gvr.GroupVersion().WithKind(kind), nil
}

func mustCompile(t *testing.T, spec syncagentv1alpha1.PublishedResourceSpec, opts ...Option) *Compiled {
	t.Helper()
	c, err := Compile(postgresCRD(), spec, providerKinds, opts...)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

// TestCompileKindsFromProjection: the source is the projected kind at the version that stores in
// kcp, the destination the CRD's kind at the version it was projected from.
func TestCompileKindsFromProjection(t *testing.T) {
	c := mustCompile(t, newSpec(withProjection(syncagentv1alpha1.Projection{
		Group: "databases.example.com", Kind: "Database", Versions: map[string]string{"v1beta2": "v1"},
		Scope: syncagentv1alpha1.ClusterScoped,
	})))
	want := syncengine.Kinds{
		Source:                schema.GroupVersionKind{Group: "databases.example.com", Version: "v1", Kind: "Database"},
		Destination:           schema.GroupVersionKind{Group: "internal.dbs.example.com", Version: "v1beta2", Kind: "PostgresCluster"},
		DestinationNamespaced: true, CopiesStatus: true,
	}
	if c.Kinds != want {
		t.Errorf("kinds %+v, want %+v", c.Kinds, want)
	}

	c = mustCompile(t, newSpec())
	if c.Kinds.Source != c.Kinds.Destination {
		t.Errorf("without a projection the kinds differ: %v and %v", c.Kinds.Source, c.Kinds.Destination)
	}
}

// TestCompileCopiesStatus: status flows back only when the synced CRD version has a status
// subresource.
func TestCompileCopiesStatus(t *testing.T) {
	for _, tt := range []struct {
		name     string
		versions []string
		want     bool
	}{
		{"storage version with status", nil, true},
		{"version without status", []string{"v1beta1"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCompile(t, newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Resource.Versions = tt.versions }))
			if c.Kinds.CopiesStatus != tt.want {
				t.Errorf("CopiesStatus %t, want %t", c.Kinds.CopiesStatus, tt.want)
			}
		})
	}
	crd := postgresCRD()
	crd.Spec.Versions[1].Subresources = nil
	c, err := Compile(crd, newSpec(), providerKinds)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kinds.CopiesStatus {
		t.Error("CopiesStatus without any status subresource")
	}
}

// TestCompileErrorsNameTheField: every error says where in the PublishedResource it comes from,
// as the Synced condition shows it.
func TestCompileErrorsNameTheField(t *testing.T) {
	badStep := []syncagentv1alpha1.MutationStep{{Regex: &syncagentv1alpha1.RegexStep{Path: "spec.host", Pattern: "("}}}
	badSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}
	secret := func(mod func(*syncagentv1alpha1.RelatedResource)) syncagentv1alpha1.RelatedResource {
		rel := syncagentv1alpha1.RelatedResource{Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
			Object: syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "status.secretName"}}}
		mod(&rel)
		return rel
	}
	for _, tt := range []struct {
		name string
		spec syncagentv1alpha1.PublishedResourceSpec
		want string
	}{
		{"unserved version", newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Resource.Versions = []string{"v9"} }), "spec.resource.versions[0]"},
		{"naming namespace", newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Naming = &syncagentv1alpha1.Naming{Namespace: "{{ .ClusterName "}
		}), "spec.naming.namespace"},
		{"naming name", newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Naming = &syncagentv1alpha1.Naming{Name: "{{ upper .Object }}"}
		}), "spec.naming.name"},
		{"spec mutation", newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Mutation = &syncagentv1alpha1.Mutation{Spec: badStep}
		}), "spec.mutation.spec: steps[0].regex.pattern"},
		{"status mutation", newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Mutation = &syncagentv1alpha1.Mutation{Status: badStep}
		}), "spec.mutation.status: steps[0].regex.pattern"},
		{"resource filter", newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Filter = &syncagentv1alpha1.Filter{Resource: badSelector}
		}), "spec.filter.resource: "},
		{"namespace filter", newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Filter = &syncagentv1alpha1.Filter{Namespace: badSelector}
		}), "spec.filter.namespace: "},
		{"related resource not served", newSpec(withRelated(secret(func(r *syncagentv1alpha1.RelatedResource) { r.Resource = "sekrets" }))),
			"spec.related[0]: the provider cluster does not serve sekrets"},
		{"related reference", newSpec(withRelated(secret(func(*syncagentv1alpha1.RelatedResource) {}), secret(func(r *syncagentv1alpha1.RelatedResource) {
			r.Object.Reference.Path = "status..name"
		}))), "spec.related[1]: object.reference.path"},
		{"related name template", newSpec(withRelated(secret(func(r *syncagentv1alpha1.RelatedResource) {
			r.Object = syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "{{ .Object"}}
		}))), `spec.related[0]: parsing template "object.template.name"`},
		{"related namespace template", newSpec(withRelated(secret(func(r *syncagentv1alpha1.RelatedResource) {
			r.Object = syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "creds", Namespace: "{{ end }}"}}
		}))), `spec.related[0]: parsing template "object.template.namespace"`},
		{"related selector", newSpec(withRelated(secret(func(r *syncagentv1alpha1.RelatedResource) {
			r.Object = syncagentv1alpha1.RelatedObjectSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "{{ .Object"}}}
		}))), `spec.related[0]: parsing template "object.selector.matchLabels[app]"`},
		{"related mutation", newSpec(withRelated(secret(func(r *syncagentv1alpha1.RelatedResource) {
			r.Mutation = &syncagentv1alpha1.Mutation{Status: badStep}
		}))), "spec.related[0]: mutation.status: steps[0].regex.pattern"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(postgresCRD(), tt.spec, providerKinds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestCompileNamingMutationAndFilter: the naming templates, the mutation steps and the filter's
// selectors all reach the compiled configuration; what is not configured stays nil.
func TestCompileNamingMutationAndFilter(t *testing.T) {
	c := mustCompile(t, newSpec())
	if c.SpecMutation != nil || c.StatusMutation != nil || c.ResourceSelector != nil || c.NamespaceSelector != nil || c.Related != nil {
		t.Errorf("an empty spec compiled to mutations, selectors or related entries: %+v", c)
	}

	c = mustCompile(t, newSpec(func(s *syncagentv1alpha1.PublishedResourceSpec) {
		s.Naming = &syncagentv1alpha1.Naming{Namespace: "consumers", Name: "{{ .Object.metadata.name }}-copy"}
		s.Mutation = &syncagentv1alpha1.Mutation{Spec: []syncagentv1alpha1.MutationStep{
			{Delete: &syncagentv1alpha1.DeleteStep{Path: "spec.internal"}},
			{Template: &syncagentv1alpha1.TemplateStep{Path: "spec.owner", Template: "{{ .ClusterName }}"}},
		}}
		s.Filter = &syncagentv1alpha1.Filter{Resource: &metav1.LabelSelector{MatchLabels: map[string]string{"sync": "yes"}}}
	}))
	obj := map[string]any{"metadata": map[string]any{"name": "orders", "namespace": "default"}}
	namespace, name, err := c.Namer.Locate(templating.Data{ClusterName: "root-team", Object: obj}, false)
	if err != nil || namespace != "consumers" || name != "orders-copy" {
		t.Errorf("copy located at %s/%s (%v), want consumers/orders-copy", namespace, name, err)
	}
	if c.SpecMutation.Len() != 2 || c.StatusMutation.Len() != 0 {
		t.Errorf("mutations of %d and %d steps, want 2 and 0", c.SpecMutation.Len(), c.StatusMutation.Len())
	}
	if !c.ResourceSelector.Matches(labels.Set{"sync": "yes"}) || c.ResourceSelector.Matches(labels.Set{}) || c.NamespaceSelector != nil {
		t.Errorf("selectors %v and %v, want sync=yes and none", c.ResourceSelector, c.NamespaceSelector)
	}
}

// TestWithConsumerGroup: the consumer-facing group is replaced after the projection; the
// provider's kind and the related resources keep their groups.
func TestWithConsumerGroup(t *testing.T) {
	spec := newSpec(withProjection(syncagentv1alpha1.Projection{Group: "databases.example.com", Kind: "Database"}),
		withRelated(syncagentv1alpha1.RelatedResource{
			Identifier: "cert", Origin: syncagentv1alpha1.OriginProvider, Group: "internal.certs.example.com", Version: "v1", Resource: "tlscertificates",
			Object: syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "status.certificate"}},
		}))
	plain := mustCompile(t, spec)
	c := mustCompile(t, spec, WithConsumerGroup("dbs.acme.example"))

	want := plain.Kinds
	want.Source.Group = "dbs.acme.example"
	if c.Kinds != want {
		t.Errorf("kinds %+v, want %+v", c.Kinds, want)
	}
	if c.Related[0].SourceGVK != plain.Related[0].SourceGVK || c.Related[0].SourceResource != plain.Related[0].SourceResource {
		t.Errorf("the related resource was renamed: %v, want %v", c.Related[0].SourceGVK, plain.Related[0].SourceGVK)
	}
	if kept := mustCompile(t, spec, WithConsumerGroup("")); kept.Kinds != plain.Kinds {
		t.Errorf("an empty consumer group changed the kinds: %+v", kept.Kinds)
	}
	for _, group := range []string{"nodots", "Databases.example.com", "-db.example.com"} {
		if _, err := Compile(postgresCRD(), spec, providerKinds, WithConsumerGroup(group)); err == nil || !strings.Contains(err.Error(), "consumer group") {
			t.Errorf("consumer group %q: error %v, want one naming the consumer group", group, err)
		}
	}
}

// TestApply sets what the PublishedResource decides and leaves the rest of the Reconciler alone.
func TestApply(t *testing.T) {
	c := mustCompile(t, newSpec(
		func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Mutation = &syncagentv1alpha1.Mutation{Status: []syncagentv1alpha1.MutationStep{{Delete: &syncagentv1alpha1.DeleteStep{Path: "status.internal"}}}}
			s.Filter = &syncagentv1alpha1.Filter{Namespace: &metav1.LabelSelector{}}
		},
		withRelated(syncagentv1alpha1.RelatedResource{Identifier: "config", Origin: syncagentv1alpha1.OriginConsumer, Version: "v1", Resource: "configmaps",
			Object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "settings"}}}),
	))
	r := &syncengine.Reconciler{Agent: "agent-1", DestinationNamespace: "consumer-7"}
	c.Apply(r)
	if r.Agent != "agent-1" || r.DestinationNamespace != "consumer-7" {
		t.Errorf("Apply changed the caller's fields: agent %q, namespace %q", r.Agent, r.DestinationNamespace)
	}
	// Selectors are compared by meaning: some implementations are slices, which == cannot compare.
	if r.Kinds != c.Kinds || r.Namer != c.Namer || r.SpecMutation != c.SpecMutation || r.StatusMutation != c.StatusMutation ||
		r.ResourceSelector != nil || r.NamespaceSelector == nil || !r.NamespaceSelector.Empty() || len(r.Related) != 1 {
		t.Errorf("Apply did not set every compiled field: %+v", r)
	}
}
