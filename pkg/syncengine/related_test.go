package syncengine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/templating"
)

func mustTemplate(t *testing.T, name, text string) *templating.Template {
	t.Helper()
	tmpl, err := templating.Parse(name, text)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func primary() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Database",
		"metadata": map[string]any{"name": "orders", "namespace": "default"},
		"spec":     map[string]any{"configRef": "orders-config", "team": "Shop"},
	}}
}

func TestLocateRelated(t *testing.T) {
	ref, err := mutation.ParsePath("spec.configRef")
	if err != nil {
		t.Fatal(err)
	}
	missing, _ := mutation.ParsePath("status.secretRef.name")
	d := templating.Data{ClusterName: "1x5ydfmq2b7xjz3c", Object: primary().Object}
	for _, tc := range []struct {
		name          string
		rel           Related
		wantNamespace string
		wantName      string
		wantFound     bool
		wantErr       string
	}{
		{name: "reference: the primary object's namespace", rel: Related{Reference: &ref},
			wantNamespace: "default", wantName: "orders-config", wantFound: true},
		{name: "reference not set yet", rel: Related{Reference: &missing}},
		{name: "template: the primary object's namespace",
			rel:           Related{NameTemplate: mustTemplate(t, "name", "{{ .Object.metadata.name }}-creds")},
			wantNamespace: "default", wantName: "orders-creds", wantFound: true},
		{name: "template with a namespace: another namespace, whitespace trimmed",
			rel: Related{
				NameTemplate:      mustTemplate(t, "name", "{{ .Object.metadata.name }}-creds"),
				NamespaceTemplate: mustTemplate(t, "namespace", " creds-{{ .ClusterName }} "),
			},
			wantNamespace: "creds-1x5ydfmq2b7xjz3c", wantName: "orders-creds", wantFound: true},
		{name: "a namespace that is not a DNS label",
			rel: Related{
				NameTemplate:      mustTemplate(t, "name", "x"),
				NamespaceTemplate: mustTemplate(t, "object.template.namespace", "{{ .Object.spec.team }}"),
			},
			wantErr: `object.template.namespace rendered "Shop"`},
		{name: "an empty name", rel: Related{NameTemplate: mustTemplate(t, "name", "{{ \"\" }}")}, wantErr: "empty name"},
		{name: "a name with a slash", rel: Related{NameTemplate: mustTemplate(t, "name", "a/b")}, wantErr: "not a valid name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, name, found, err := LocateRelated(tc.rel, primary(), "default", d)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ns != tc.wantNamespace || name != tc.wantName || found != tc.wantFound {
				t.Errorf("LocateRelated = %q, %q, %v; want %q, %q, %v", ns, name, found, tc.wantNamespace, tc.wantName, tc.wantFound)
			}
		})
	}
}

func TestSelectorTemplate(t *testing.T) {
	sel, err := CompileSelector("object.selector", &metav1.LabelSelector{
		MatchLabels: map[string]string{"app.example.com/database": "{{ .Object.metadata.name }}", "tier": "gold"},
		MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "paused", Operator: metav1.LabelSelectorOpDoesNotExist},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := sel.Render(templating.Data{Object: primary().Object})
	if err != nil {
		t.Fatal(err)
	}
	for set, want := range map[string]bool{
		"app.example.com/database=orders,tier=gold":        true,
		"app.example.com/database=invoices,tier=gold":      false,
		"app.example.com/database=orders,tier=gold,paused": false,
	} {
		labelSet, err := labels.ConvertSelectorToLabelsMap(strings.ReplaceAll(set, ",paused", ",paused=yes"))
		if err != nil {
			t.Fatal(err)
		}
		if got := rendered.Matches(labelSet); got != want {
			t.Errorf("selector %s matches %s: %v, want %v", rendered, set, got, want)
		}
	}

	t.Run("a rendered value that is not a label value", func(t *testing.T) {
		sel, err := CompileSelector("object.selector", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "{{ .Object.spec.configRef }} x"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sel.Render(templating.Data{Object: primary().Object}); err == nil {
			t.Fatal("a value with a space was accepted")
		}
	})
	t.Run("errors name the field", func(t *testing.T) {
		_, err := CompileSelector("object.selector", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "{{ .Object"}})
		if err == nil || !strings.Contains(err.Error(), "object.selector.matchLabels[team]") {
			t.Fatalf("error %v, want one naming object.selector.matchLabels[team]", err)
		}
		_, err = CompileSelector("object.selector", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}})
		if err == nil || !strings.Contains(err.Error(), "object.selector") {
			t.Fatalf("error %v, want one naming object.selector", err)
		}
	})
}

func TestRelatedIndex(t *testing.T) {
	var x relatedIndex
	a := Source{Cluster: "c1", Namespace: "default", Name: "a"}
	b := Source{Cluster: "c1", Namespace: "default", Name: "b"}
	shared := RelatedObject{Identifier: "creds", Namespace: "creds", Name: "shared"}
	own := RelatedObject{Identifier: "creds", Namespace: "creds", Name: "a"}

	x.expect(a, shared)
	x.expect(b, shared)
	if got := x.lookup(shared); len(got) != 2 {
		t.Fatalf("lookup = %v, want both primary objects", got)
	}
	x.expect(a, own) // a's template now renders another name: it no longer expects shared
	if got := x.lookup(shared); !slices.Equal(got, []Source{b}) {
		t.Fatalf("lookup(shared) = %v, want only b", got)
	}
	if got := x.lookup(own); !slices.Equal(got, []Source{a}) {
		t.Fatalf("lookup(own) = %v, want a", got)
	}
	x.forget(a, []string{"creds"})
	x.forget(b, []string{"creds"})
	if len(x.primaries) != 0 || len(x.expected) != 0 {
		t.Fatalf("index not empty after forgetting every primary object: %v %v", x.primaries, x.expected)
	}
	if got := x.lookup(shared); len(got) != 0 {
		t.Fatalf("lookup after forget = %v", got)
	}
}

func TestSourceKind(t *testing.T) {
	known := Related{SourceGVK: schema.GroupVersionKind{Version: "v1", Kind: "Secret"}}
	if gvk, err := known.SourceKind(nil); err != nil || gvk.Kind != "Secret" {
		t.Fatalf("a known kind: %v, %v", gvk, err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Group: "certs.example.com", Version: "v1", Kind: "Certificate"}, meta.RESTScopeNamespace)
	renamed := Related{
		SourceGVK:      schema.GroupVersionKind{Group: "certs.example.com", Version: "v1"},
		SourceResource: schema.GroupVersionResource{Group: "certs.example.com", Version: "v1", Resource: "certificates"},
	}
	if gvk, err := renamed.SourceKind(mapper); err != nil || gvk.Kind != "Certificate" {
		t.Fatalf("a renamed resource: %v, %v", gvk, err)
	}
	unknown := renamed
	unknown.SourceResource.Resource = "tlscertificates"
	if _, err := unknown.SourceKind(mapper); err == nil || !strings.Contains(err.Error(), "tlscertificates.certs.example.com/v1") {
		t.Fatalf("an unknown resource: %v, want an error naming it", err)
	}
}

func TestReleasePatch(t *testing.T) {
	obj := &unstructured.Unstructured{}
	if _, ok := ReleasePatch(obj); ok {
		t.Fatal("a patch for an object without the finalizer")
	}
	obj.SetFinalizers([]string{"example.com/teardown", Finalizer, "example.com/other"})
	patch, ok := ReleasePatch(obj)
	if !ok {
		t.Fatal("no patch for an object with the finalizer")
	}
	data, err := patch.Data(obj)
	if err != nil {
		t.Fatal(err)
	}
	var ops []map[string]any
	if err := json.Unmarshal(data, &ops); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"op": "test", "path": "/metadata/finalizers/1", "value": Finalizer},
		{"op": "remove", "path": "/metadata/finalizers/1"},
	}
	if len(ops) != len(want) {
		t.Fatalf("patch %s", data)
	}
	for i := range want {
		for k, v := range want[i] {
			if ops[i][k] != v {
				t.Fatalf("patch %s, want %v", data, want)
			}
		}
	}
	if string(patch.Type()) != "application/json-patch+json" {
		t.Errorf("patch type %s", patch.Type())
	}
}

func TestRelatedCopyName(t *testing.T) {
	fromSource, fromDestination := Related{Origin: FromSource}, Related{Origin: FromDestination}
	if got := relatedCopyName(fromSource, "team-a", "db-config"); got != templating.DNSLabel("team-a", "db-config") {
		t.Errorf("copy of a source-side original = %q, want it to carry the namespace", got)
	}
	if relatedCopyName(fromSource, "one", "db-config") == relatedCopyName(fromSource, "two", "db-config") {
		t.Error("originals of two namespaces must not share a copy name")
	}
	if got := relatedCopyName(fromDestination, "2x8c", "db-creds"); got != "db-creds" {
		t.Errorf("copy of a destination-side original = %q, want its own name", got)
	}
}

func TestPointReferencesAtCopies(t *testing.T) {
	ref, err := mutation.ParsePath("spec.configRef")
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Related: []Related{
		{Identifier: "config", Origin: FromSource, Reference: &ref},
		{Identifier: "credentials", Origin: FromDestination, Reference: &ref},
	}}
	source := primary()
	desired := primary()
	if err := r.pointReferencesAtCopies(desired, source); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(desired.Object, "spec", "configRef"); got != relatedCopyName(r.Related[0], "default", "orders-config") {
		t.Errorf("spec.configRef of the copy = %q, want the related copy's name", got)
	}
	if got, _, _ := unstructured.NestedString(source.Object, "spec", "configRef"); got != "orders-config" {
		t.Errorf("the source object was changed: spec.configRef = %q", got)
	}

	mutated := primary()
	_ = unstructured.SetNestedField(mutated.Object, "set-by-mutation", "spec", "configRef")
	if err := r.pointReferencesAtCopies(mutated, source); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(mutated.Object, "spec", "configRef"); got != "set-by-mutation" {
		t.Errorf("a reference the mutation wrote became %q", got)
	}
}
