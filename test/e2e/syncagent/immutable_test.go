package syncagent

import (
	"strings"
	"testing"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestPublishedNameAndCRDAreImmutable edits what the copies of a PublishedResource are marked
// with (the published group, kind and scope) and what they are (the provider's CRD): the API
// server refuses each edit and names the field, since an edit would leave every copy to nobody.
// Everything else can still change, the projected versions for one.
func TestPublishedNameAndCRDAreImmutable(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	providerCluster := framework.NewClient(t, framework.StartKube(t, "deploy/crd").Config())
	pr := databasesPR()
	if err := providerCluster.Create(ctx, pr); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string // the refusal names it
		edit  func(*syncagentv1alpha1.PublishedResourceSpec)
	}{
		{"spec.projection", func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Projection.Kind = "Postgres" }},
		{"spec.projection", func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Projection.Group = "other.example.com" }},
		{"spec.projection", func(s *syncagentv1alpha1.PublishedResourceSpec) {
			s.Projection.Scope = syncagentv1alpha1.ResourceScope("Cluster")
		}},
		{"spec.projection", func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Projection = nil }},
		{"spec.resource.kind", func(s *syncagentv1alpha1.PublishedResourceSpec) { s.Resource.Kind = "MySQLCluster" }},
	} {
		edited := pr.DeepCopy()
		tc.edit(&edited.Spec)
		err := providerCluster.Update(ctx, edited)
		if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("editing %s: %v, want a refusal that names the field", tc.field, err)
		}
	}
	edited := pr.DeepCopy()
	edited.Spec.Projection.Versions = map[string]string{"v1beta1": "v1beta1"}
	if err := providerCluster.Update(ctx, edited); err != nil {
		t.Errorf("editing spec.projection.versions: %v, want it allowed", err)
	}
}
