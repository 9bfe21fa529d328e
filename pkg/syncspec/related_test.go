package syncspec

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
)

func compileOne(t *testing.T, rel syncagentv1alpha1.RelatedResource) syncengine.Related {
	t.Helper()
	c := mustCompile(t, newSpec(withRelated(rel)))
	if len(c.Related) != 1 {
		t.Fatalf("%d related entries, want 1", len(c.Related))
	}
	return c.Related[0]
}

func byReference(path string) syncagentv1alpha1.RelatedObjectSelector {
	return syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: path}}
}

// TestRelatedKinds: the provider-side kind is resolved; the consumer-side kind is the same when
// only the version is projected, and left to discovery when the group or resource is.
func TestRelatedKinds(t *testing.T) {
	certs := schema.GroupVersionResource{Group: "internal.certs.example.com", Version: "v1", Resource: "tlscertificates"}
	provider := certs.GroupVersion().WithKind("TLSCertificate")
	for _, tt := range []struct {
		name         string
		projection   *syncagentv1alpha1.RelatedProjection
		wantResource schema.GroupVersionResource
		wantKind     schema.GroupVersionKind
	}{
		{"no projection", nil, certs, provider},
		{"version", &syncagentv1alpha1.RelatedProjection{Version: "v2"},
			schema.GroupVersionResource{Group: certs.Group, Version: "v2", Resource: certs.Resource},
			schema.GroupVersionKind{Group: certs.Group, Version: "v2", Kind: "TLSCertificate"}},
		{"group", &syncagentv1alpha1.RelatedProjection{Group: "certs.example.com"},
			schema.GroupVersionResource{Group: "certs.example.com", Version: "v1", Resource: certs.Resource},
			schema.GroupVersionKind{Group: "certs.example.com", Version: "v1"}},
		{"resource", &syncagentv1alpha1.RelatedProjection{Resource: "certificates"},
			schema.GroupVersionResource{Group: certs.Group, Version: "v1", Resource: "certificates"},
			schema.GroupVersionKind{Group: certs.Group, Version: "v1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rel := compileOne(t, syncagentv1alpha1.RelatedResource{
				Identifier: "cert", Origin: syncagentv1alpha1.OriginProvider,
				Group: certs.Group, Version: certs.Version, Resource: certs.Resource, Projection: tt.projection,
				Object: byReference("status.certificate"),
			})
			if rel.DestinationGVK != provider || rel.SourceResource != tt.wantResource || rel.SourceGVK != tt.wantKind {
				t.Errorf("destination %v, source %v as %v; want %v, %v as %v",
					rel.DestinationGVK, rel.SourceResource, rel.SourceGVK, provider, tt.wantResource, tt.wantKind)
			}
		})
	}
}

// TestRelatedOriginAndFlags: the consumer's objects are the engine's source side, the provider's
// its destination side; watch and cleanup default to on.
func TestRelatedOriginAndFlags(t *testing.T) {
	no := false
	secret := syncagentv1alpha1.RelatedResource{Identifier: "creds", Version: "v1", Resource: "secrets", Object: byReference("status.secretName")}

	secret.Origin = syncagentv1alpha1.OriginProvider
	rel := compileOne(t, secret)
	if rel.Identifier != "creds" || rel.Origin != syncengine.FromDestination || !rel.Watch || !rel.Cleanup || rel.SyncStatus {
		t.Errorf("provider origin compiled to %+v, want FromDestination, watched, cleaned up, no status", rel)
	}

	secret.Origin, secret.Watch, secret.Cleanup, secret.SyncStatus = syncagentv1alpha1.OriginConsumer, &no, &no, true
	rel = compileOne(t, secret)
	if rel.Origin != syncengine.FromSource || rel.Watch || rel.Cleanup || !rel.SyncStatus {
		t.Errorf("consumer origin compiled to %+v, want FromSource, not watched, not cleaned up, status", rel)
	}
}

// TestRelatedFinders: each of reference, template and selector compiles into the one way the
// engine finds the related objects; the others stay nil.
func TestRelatedFinders(t *testing.T) {
	primary := templating.Data{ClusterName: "root-team", Object: map[string]any{
		"metadata": map[string]any{"name": "orders"},
		"status":   map[string]any{"secretName": "orders-creds"},
	}}
	config := func(o syncagentv1alpha1.RelatedObjectSelector) syncengine.Related {
		return compileOne(t, syncagentv1alpha1.RelatedResource{Identifier: "config", Origin: syncagentv1alpha1.OriginConsumer, Version: "v1", Resource: "configmaps", Object: o})
	}

	rel := config(byReference("status.secretName"))
	if rel.Reference == nil || rel.NameTemplate != nil || rel.Selector != nil {
		t.Fatalf("reference compiled to %+v", rel)
	}
	if name, _, err := rel.Reference.Get(primary.Object); err != nil || name != "orders-creds" {
		t.Errorf("reference found %v (%v), want orders-creds", name, err)
	}

	rel = config(syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "{{ .Object.metadata.name }}-settings"}})
	if rel.NameTemplate == nil || rel.NamespaceTemplate != nil || rel.Reference != nil || rel.Selector != nil {
		t.Fatalf("name template compiled to %+v", rel)
	}
	if name, err := rel.NameTemplate.Render(primary); err != nil || name != "orders-settings" {
		t.Errorf("name template rendered %q (%v), want orders-settings", name, err)
	}
	rel = config(syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "settings", Namespace: "shared"}})
	if rel.NamespaceTemplate == nil {
		t.Error("the namespace template was dropped")
	}

	rel = config(syncagentv1alpha1.RelatedObjectSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "{{ .Object.metadata.name }}"}}})
	if rel.Selector == nil || rel.Reference != nil || rel.NameTemplate != nil {
		t.Fatalf("selector compiled to %+v", rel)
	}
	sel, err := rel.Selector.Render(primary)
	if err != nil || !sel.Matches(labels.Set{"app": "orders"}) || sel.Matches(labels.Set{"app": "other"}) {
		t.Errorf("selector rendered %v (%v), want app=orders", sel, err)
	}
}

// TestRelatedMutation: both step lists of a related entry are compiled.
func TestRelatedMutation(t *testing.T) {
	rel := compileOne(t, syncagentv1alpha1.RelatedResource{
		Identifier: "creds", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets", Object: byReference("status.secretName"),
		Mutation: &syncagentv1alpha1.Mutation{
			Spec:   []syncagentv1alpha1.MutationStep{{Delete: &syncagentv1alpha1.DeleteStep{Path: "data.internal"}}},
			Status: []syncagentv1alpha1.MutationStep{{Delete: &syncagentv1alpha1.DeleteStep{Path: "status.a"}}, {Delete: &syncagentv1alpha1.DeleteStep{Path: "status.b"}}},
		},
	})
	if rel.Mutation.Len() != 1 || rel.StatusMutation.Len() != 2 {
		t.Errorf("mutations of %d and %d steps, want 1 and 2", rel.Mutation.Len(), rel.StatusMutation.Len())
	}
}

// TestRelatedWithoutKindOf: related entries cannot be compiled without a way to resolve kinds;
// a spec without any can.
func TestRelatedWithoutKindOf(t *testing.T) {
	if _, err := Compile(postgresCRD(), newSpec(), nil); err != nil {
		t.Errorf("no related entries, no kindOf: %v", err)
	}
	spec := newSpec(withRelated(syncagentv1alpha1.RelatedResource{Identifier: "creds", Version: "v1", Resource: "secrets", Object: byReference("status.secretName")}))
	if _, err := Compile(postgresCRD(), spec, nil); err == nil {
		t.Error("related entries compiled without kindOf")
	}
}
