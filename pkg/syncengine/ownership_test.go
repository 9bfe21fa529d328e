package syncengine

import (
	"maps"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bindery-dev/bindery/pkg/templating"
)

var (
	testKind   = schema.GroupKind{Group: "db.example.com", Kind: "Database"}
	testSource = Source{Cluster: "2x8cxnqmfw5lmjcs", Kind: testKind, Namespace: "default", Name: "my-db"}
	testOwner  = Owner{Agent: "db-agent", Source: testSource}
)

// marked returns an object at name carrying the marks of o.
func marked(name string, o Owner) *metav1.ObjectMeta {
	obj := &metav1.ObjectMeta{Name: name, Namespace: "2x8cxnqmfw5lmjcs"}
	Mark(obj, o)
	return obj
}

func TestMarkRoundTrip(t *testing.T) {
	for _, o := range []Owner{
		testOwner,
		{Agent: "a", Source: Source{Cluster: "c", Kind: schema.GroupKind{Kind: "ConfigMap"}, Name: "cluster-scoped"}},
		{Agent: "a", Source: Source{Cluster: "c", Kind: schema.GroupKind{Group: "a.b.c", Kind: "X"}, Name: "dotted-group"}},
		{Agent: "a", Source: Source{Cluster: "c", Name: "legacy-marks-without-kind"}},
		{Agent: strings.Repeat("a", 63), Source: Source{Cluster: "root:org:team", Namespace: "ns", Name: strings.Repeat("n", 253)}},
	} {
		obj := &metav1.ObjectMeta{Name: "copy"}
		Mark(obj, o)
		got, ok := OwnerOf(obj)
		if !ok || got != o {
			t.Errorf("OwnerOf(Mark(%+v)) = %+v, %v", o, got, ok)
		}
	}
}

func TestMarkWritesLabelsAndAnnotations(t *testing.T) {
	obj := &unstructured.Unstructured{}
	obj.SetLabels(map[string]string{"app": "db"})
	obj.SetAnnotations(map[string]string{"note": "x"})
	Mark(obj, testOwner)

	wantLabels := map[string]string{
		"app":                     "db",
		"sync.bindery.dev/agent":  "db-agent",
		"sync.bindery.dev/source": templating.ShortHash("2x8cxnqmfw5lmjcs", "default", "my-db"),
	}
	wantAnnotations := map[string]string{
		"note":                              "x",
		"sync.bindery.dev/source-cluster":   "2x8cxnqmfw5lmjcs",
		"sync.bindery.dev/source-namespace": "default",
		"sync.bindery.dev/source-name":      "my-db",
		"sync.bindery.dev/source-kind":      "Database.db.example.com",
	}
	if got := obj.GetLabels(); !maps.Equal(got, wantLabels) {
		t.Errorf("labels = %v, want %v", got, wantLabels)
	}
	if got := obj.GetAnnotations(); !maps.Equal(got, wantAnnotations) {
		t.Errorf("annotations = %v, want %v", got, wantAnnotations)
	}

	// Re-marking for a cluster-scoped source removes the stale namespace annotation.
	clusterScoped := Owner{Agent: "db-agent", Source: Source{Cluster: "c", Name: "n"}}
	Mark(obj, clusterScoped)
	if _, ok := obj.GetAnnotations()[SourceNamespaceAnnotation]; ok {
		t.Error("namespace annotation kept for a cluster-scoped source")
	}
	if got, ok := OwnerOf(obj); !ok || got != clusterScoped {
		t.Errorf("OwnerOf after re-marking = %+v, %v", got, ok)
	}
}

func TestMarkDoesNotChangeSharedMaps(t *testing.T) {
	shared := map[string]string{"app": "db"}
	obj := &metav1.ObjectMeta{Labels: shared, Annotations: shared}
	Mark(obj, testOwner)
	if len(shared) != 1 {
		t.Errorf("Mark changed the caller's map: %v", shared)
	}
}

func TestOwnerOfRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(obj *metav1.ObjectMeta)
	}{
		{"no marks", func(obj *metav1.ObjectMeta) { obj.Labels, obj.Annotations = nil, nil }},
		{"agent label missing", func(obj *metav1.ObjectMeta) { delete(obj.Labels, AgentLabel) }},
		{"source label missing", func(obj *metav1.ObjectMeta) { delete(obj.Labels, SourceLabel) }},
		{"cluster annotation missing", func(obj *metav1.ObjectMeta) { delete(obj.Annotations, SourceClusterAnnotation) }},
		{"name annotation missing", func(obj *metav1.ObjectMeta) { delete(obj.Annotations, SourceNameAnnotation) }},
		{"namespace annotation missing", func(obj *metav1.ObjectMeta) { delete(obj.Annotations, SourceNamespaceAnnotation) }},
		{"name annotation edited", func(obj *metav1.ObjectMeta) { obj.Annotations[SourceNameAnnotation] = "other" }},
		{"cluster annotation edited", func(obj *metav1.ObjectMeta) { obj.Annotations[SourceClusterAnnotation] = "other" }},
		{"source label edited", func(obj *metav1.ObjectMeta) { obj.Labels[SourceLabel] = "0123456789" }},
		{"empty agent", func(obj *metav1.ObjectMeta) { obj.Labels[AgentLabel] = "" }},
		{"invalid agent", func(obj *metav1.ObjectMeta) { obj.Labels[AgentLabel] = "Not_A_Label" }},
		{"empty name", func(obj *metav1.ObjectMeta) {
			obj.Annotations[SourceNameAnnotation] = ""
			obj.Labels[SourceLabel] = Source{Cluster: testSource.Cluster, Namespace: testSource.Namespace}.Hash()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := marked("copy", testOwner)
			tt.modify(obj)
			if got, ok := OwnerOf(obj); ok {
				t.Errorf("OwnerOf = %+v, true; want false", got)
			}
		})
	}
	if _, ok := OwnerOf(nil); ok {
		t.Error("OwnerOf(nil) = true")
	}
	if _, ok := OwnerOf((*unstructured.Unstructured)(nil)); ok {
		t.Error("OwnerOf(typed nil) = true")
	}
}

func TestOwnerValidate(t *testing.T) {
	if err := testOwner.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", testOwner, err)
	}
	for _, o := range []Owner{
		{Agent: "", Source: testSource},
		{Agent: "Agent", Source: testSource},
		{Agent: strings.Repeat("a", 64), Source: testSource},
		{Agent: "a", Source: Source{Namespace: "ns", Name: "n"}},
		{Agent: "a", Source: Source{Cluster: "c", Namespace: "ns"}},
		{Agent: "a", Source: Source{Cluster: "c/d", Name: "n"}},
		{Agent: "a", Source: Source{Cluster: "c", Namespace: "a/b", Name: "n"}},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
}

func TestOwnerLabelsSelectTheCopy(t *testing.T) {
	obj := marked("copy", testOwner)
	for k, v := range testOwner.Labels() {
		if obj.Labels[k] != v {
			t.Errorf("label %s = %q, selector wants %q", k, obj.Labels[k], v)
		}
	}
	other := testOwner
	other.Source.Name = "other"
	if other.Labels()[SourceLabel] == testOwner.Labels()[SourceLabel] {
		t.Error("two sources select by the same label")
	}
}

func TestSourceIsAndOfKind(t *testing.T) {
	legacy := testSource
	legacy.Kind = schema.GroupKind{}
	other := testSource
	other.Kind = schema.GroupKind{Group: "other.example.com", Kind: "Other"}
	if !testSource.Is(testSource) || !testSource.Is(legacy) || !legacy.Is(testSource) {
		t.Error("a source must be itself, and legacy marks (no kind) must match it")
	}
	if testSource.Is(other) || other.Is(testSource) {
		t.Error("the same object of another kind is another source")
	}
	if !testSource.OfKind(testKind) || !legacy.OfKind(testKind) || other.OfKind(testKind) {
		t.Error("OfKind must accept the kind and legacy marks, and nothing else")
	}
}

func TestSourceOf(t *testing.T) {
	obj := &metav1.ObjectMeta{Namespace: "default", Name: "my-db"}
	if got := SourceOf("2x8cxnqmfw5lmjcs", testKind, obj); got != testSource {
		t.Errorf("SourceOf = %+v", got)
	}
}

func TestDecide(t *testing.T) {
	otherAgent := testOwner
	otherAgent.Agent = "someone-else"
	otherSource := testOwner
	otherSource.Source = Source{Cluster: "secretconsumer", Kind: testKind, Namespace: "hidden-ns", Name: "hidden-name"}
	otherKind := testOwner
	otherKind.Source.Kind = schema.GroupKind{Group: "hidden.example.com", Kind: "Hidden"}
	legacy := testOwner
	legacy.Source.Kind = schema.GroupKind{}
	unowned := &metav1.ObjectMeta{Name: "target", Labels: map[string]string{"app": "db"}}
	tampered := marked("target", testOwner)
	tampered.Annotations[SourceNameAnnotation] = "edited"
	emptyAgent := marked("target", testOwner)
	emptyAgent.Labels[AgentLabel] = ""
	otherAgentTampered := marked("target", otherAgent)
	delete(otherAgentTampered.Annotations, SourceClusterAnnotation)

	tests := []struct {
		name     string
		existing metav1.Object
		want     Verdict
	}{
		{"absent", nil, Create},
		{"absent, typed nil", (*unstructured.Unstructured)(nil), Create},
		{"own copy", marked("target", testOwner), Update},
		{"unowned", unowned, ConflictUnowned},
		{"empty agent label", emptyAgent, ConflictUnowned},
		{"own agent, inconsistent marks", tampered, ConflictUnowned},
		{"other agent", marked("target", otherAgent), ConflictOtherAgent},
		{"other agent, inconsistent marks", otherAgentTampered, ConflictOtherAgent},
		{"other source", marked("target", otherSource), ConflictOtherSource},
		{"same object, other kind", marked("target", otherKind), ConflictOtherSource},
		{"own copy, legacy marks without a kind", marked("target", legacy), Update},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := Decide(tt.existing, testOwner)
			if got != tt.want {
				t.Fatalf("Decide = %v (%q), want %v", got, msg, tt.want)
			}
			if got.IsConflict() != (msg != "") {
				t.Errorf("verdict %v with message %q: a message is due exactly for conflicts", got, msg)
			}
			if !got.IsConflict() {
				return
			}
			if !strings.Contains(msg, `"target"`) {
				t.Errorf("message %q does not name the target object", msg)
			}
			// Nothing about the other party leaks to the user.
			for _, secret := range []string{"someone-else", "secretconsumer", "hidden-ns", "hidden-name", "2x8cxnqmfw5lmjcs", "Hidden"} {
				if strings.Contains(msg, secret) {
					t.Errorf("message %q reveals %q", msg, secret)
				}
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{
		Create: "Create", Update: "Update", ConflictUnowned: "ConflictUnowned",
		ConflictOtherAgent: "ConflictOtherAgent", ConflictOtherSource: "ConflictOtherSource", 0: "Verdict(0)",
	} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", int(v), got, want)
		}
	}
	if Verdict(0).IsConflict() || Create.IsConflict() || Update.IsConflict() {
		t.Error("non-conflicts report IsConflict")
	}
}
