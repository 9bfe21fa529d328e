package publishing

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

func TestRelatedConsumerResource(t *testing.T) {
	rel := syncagentv1alpha1.RelatedResource{Group: "internal.certs.example.com", Version: "v1beta1", Resource: "tlscertificates"}
	if got, want := RelatedConsumerResource(rel), (schema.GroupVersionResource{Group: "internal.certs.example.com", Version: "v1beta1", Resource: "tlscertificates"}); got != want {
		t.Errorf("without projection: %v, want %v", got, want)
	}
	rel.Projection = &syncagentv1alpha1.RelatedProjection{Group: "certs.example.com", Resource: "certificates"}
	if got, want := RelatedConsumerResource(rel), (schema.GroupVersionResource{Group: "certs.example.com", Version: "v1beta1", Resource: "certificates"}); got != want {
		t.Errorf("with projection: %v, want %v", got, want)
	}
}

// testHash has the shape of an APIExport's identity hash.
const testHash = "3f6b0c1ad29e4c7b8a5d6e7f0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"

// TestClaimsUseTheKCPSideName: the claim for a renamed related resource names it as kcp serves it,
// with the identity hash of the export that serves it.
func TestClaimsUseTheKCPSideName(t *testing.T) {
	pr := syncagentv1alpha1.PublishedResource{Spec: syncagentv1alpha1.PublishedResourceSpec{
		Related: []syncagentv1alpha1.RelatedResource{{
			Identifier: "cert", Origin: syncagentv1alpha1.OriginConsumer,
			Group: "internal.certs.example.com", Version: "v1", Resource: "tlscertificates",
			Projection:   &syncagentv1alpha1.RelatedProjection{Group: "certs.example.com", Resource: "certificates"},
			IdentityHash: testHash,
		}},
	}}
	var found bool
	for _, c := range DesiredClaims([]syncagentv1alpha1.PublishedResource{pr}) {
		if c.Resource == "tlscertificates" || c.Group == "internal.certs.example.com" {
			t.Errorf("claim %v names the provider side", c)
		}
		if c.Group == "certs.example.com" && c.Resource == "certificates" && c.IdentityHash == testHash {
			found = true
		}
	}
	if !found {
		t.Error("no claim for certificates.certs.example.com with the identity hash")
	}
}

func TestValidateRelatedObject(t *testing.T) {
	spec := func(obj syncagentv1alpha1.RelatedObjectSelector) syncagentv1alpha1.PublishedResourceSpec {
		return syncagentv1alpha1.PublishedResourceSpec{Related: []syncagentv1alpha1.RelatedResource{{
			Identifier: "creds", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets", Object: obj,
		}}}
	}
	for _, tc := range []struct {
		name    string
		object  syncagentv1alpha1.RelatedObjectSelector
		wantErr string // "" means valid
	}{
		{name: "templated selector values are valid",
			object: syncagentv1alpha1.RelatedObjectSelector{Selector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"postgres.example.com/cluster": "{{ .Object.metadata.name }}"}}}},
		{name: "a selector value template that does not parse",
			object: syncagentv1alpha1.RelatedObjectSelector{Selector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"cluster": "{{ .Object"}}},
			wantErr: "spec.related[0].object.selector.matchLabels[cluster]"},
		{name: "a selector key that is not a label key",
			object: syncagentv1alpha1.RelatedObjectSelector{Selector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"not a key": "x"}}},
			wantErr: "spec.related[0].object.selector.matchLabels[not a key]"},
		{name: "a namespace template",
			object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{
				Name: "{{ .Object.metadata.name }}-creds", Namespace: "creds-{{ .ClusterName }}"}}},
		{name: "a namespace template that does not parse",
			object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{
				Name: "x", Namespace: "{{ .ClusterName"}},
			wantErr: "spec.related[0].object.template.namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateSpec(spec(tc.object))
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Fatalf("unexpected errors: %v", errs)
			case tc.wantErr != "" && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), tc.wantErr)):
				t.Fatalf("errors %v, want one for %s", errs, tc.wantErr)
			}
		})
	}
}
