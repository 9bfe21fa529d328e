package kcpapis

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// gvkExtension lists the kinds an OpenAPI component schema describes.
const gvkExtension = "x-kubernetes-group-version-kind"

// SchemaFromOpenAPI returns the schema of kind gvk in an OpenAPI v3 document of its group and
// version (what kube-apiserver and kcp serve at /openapi/v3/apis/<group>/<version>), as a CRD
// version's openAPIV3Schema: the component that names gvk, without apiVersion, kind and metadata,
// which the API server adds to every CRD itself. A schema that refers to other components
// ($ref) is refused: a CRD's schema has none, so such a schema is not one a CRD can carry.
func SchemaFromOpenAPI(doc []byte, gvk schema.GroupVersionKind) (*apiextensionsv1.JSONSchemaProps, error) {
	var parsed struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		return nil, fmt.Errorf("decoding the OpenAPI v3 document of %s: %w", gvk.GroupVersion(), err)
	}
	names := make([]string, 0, len(parsed.Components.Schemas))
	for name := range parsed.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		component := parsed.Components.Schemas[name]
		if !describes(component[gvkExtension], gvk) {
			continue
		}
		delete(component, gvkExtension)
		if props, ok := component["properties"].(map[string]any); ok {
			for _, field := range []string{"apiVersion", "kind", "metadata"} {
				delete(props, field)
			}
		}
		if path := findRef(component, "schema"); path != "" {
			return nil, fmt.Errorf("the OpenAPI schema %s of %s refers to another schema at %s; a CRD's schema cannot", name, gvk, path)
		}
		raw, err := json.Marshal(component)
		if err != nil {
			return nil, err
		}
		out := &apiextensionsv1.JSONSchemaProps{}
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("the OpenAPI schema %s of %s is no CRD schema: %w", name, gvk, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("the OpenAPI v3 document of %s has no schema of kind %s", gvk.GroupVersion(), gvk.Kind)
}

// describes reports whether an x-kubernetes-group-version-kind value names gvk.
func describes(extension any, gvk schema.GroupVersionKind) bool {
	kinds, _ := extension.([]any)
	return slices.ContainsFunc(kinds, func(k any) bool {
		m, _ := k.(map[string]any)
		return m["group"] == gvk.Group && m["version"] == gvk.Version && m["kind"] == gvk.Kind
	})
}

// findRef returns the path of the first $ref below v, or "".
func findRef(v any, path string) string {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "$ref" {
				return path
			}
			if found := findRef(v[k], path+"."+k); found != "" {
				return found
			}
		}
	case []any:
		for i, item := range v {
			if found := findRef(item, fmt.Sprintf("%s[%d]", path, i)); found != "" {
				return found
			}
		}
	}
	return ""
}
