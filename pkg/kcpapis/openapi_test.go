package kcpapis

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// widgetsDoc has the shape kcp serves at /openapi/v3/apis/widgets.example.com/v1 for a bound
// API: the kind's component with apiVersion, kind and metadata (a $ref to ObjectMeta), its list
// kind, and ObjectMeta itself.
const widgetsDoc = `{"openapi":"3.0.0","components":{"schemas":{
 "com.example.widgets.v1.Widget":{"type":"object","description":"a widget",
  "properties":{
   "apiVersion":{"type":"string"},"kind":{"type":"string"},
   "metadata":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],"default":{}},
   "spec":{"type":"object","required":["size"],"properties":{"size":{"type":"string","enum":["S","M"]},"tags":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"set"}}},
   "status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}},
  "x-kubernetes-group-version-kind":[{"group":"widgets.example.com","kind":"Widget","version":"v1"}]},
 "com.example.widgets.v1.WidgetList":{"type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/components/schemas/com.example.widgets.v1.Widget"}}},
  "x-kubernetes-group-version-kind":[{"group":"widgets.example.com","kind":"WidgetList","version":"v1"}]},
 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta":{"type":"object"}}}}`

func TestSchemaFromOpenAPI(t *testing.T) {
	got, err := SchemaFromOpenAPI([]byte(widgetsDoc), schema.GroupVersionKind{Group: "widgets.example.com", Version: "v1", Kind: "Widget"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "object" || got.Description != "a widget" {
		t.Errorf("top level = %+v", got)
	}
	for _, field := range []string{"apiVersion", "kind", "metadata"} {
		if _, ok := got.Properties[field]; ok {
			t.Errorf("%s is kept; the API server adds it to every CRD", field)
		}
	}
	spec := got.Properties["spec"]
	if len(spec.Required) != 1 || spec.Properties["size"].Type != "string" || len(spec.Properties["size"].Enum) != 2 {
		t.Errorf("spec = %+v", spec)
	}
	if lt := spec.Properties["tags"].XListType; lt == nil || *lt != "set" {
		t.Errorf("tags lost x-kubernetes-list-type: %+v", spec.Properties["tags"])
	}
	if p := got.Properties["status"].XPreserveUnknownFields; p == nil || !*p {
		t.Errorf("status lost x-kubernetes-preserve-unknown-fields")
	}
}

func TestSchemaFromOpenAPIRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		gvk       schema.GroupVersionKind
		want      string
	}{
		{"another kind", widgetsDoc, schema.GroupVersionKind{Group: "widgets.example.com", Version: "v1", Kind: "Gadget"}, "no schema of kind Gadget"},
		{"another version", widgetsDoc, schema.GroupVersionKind{Group: "widgets.example.com", Version: "v2", Kind: "Widget"}, "no schema of kind Widget"},
		{"a schema with references", widgetsDoc, schema.GroupVersionKind{Group: "widgets.example.com", Version: "v1", Kind: "WidgetList"}, "refers to another schema at schema.properties.items.items"},
		{"no JSON", "<html>", schema.GroupVersionKind{Group: "widgets.example.com", Version: "v1", Kind: "Widget"}, "decoding the OpenAPI v3 document of widgets.example.com/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SchemaFromOpenAPI([]byte(tc.doc), tc.gvk)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
