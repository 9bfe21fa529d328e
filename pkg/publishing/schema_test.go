package publishing

import (
	"encoding/json"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// postgresCRD is a provider CRD with two served versions; v1beta2 stores.
func postgresCRD() *apiextensionsv1.CustomResourceDefinition {
	version := func(name string, storage bool) apiextensionsv1.CustomResourceDefinitionVersion {
		return apiextensionsv1.CustomResourceDefinitionVersion{
			Name: name, Served: true, Storage: storage,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type:       "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object"}},
			}},
			Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
		}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "postgresclusters.internal.dbs.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "internal.dbs.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "postgresclusters", Singular: "postgrescluster", Kind: "PostgresCluster",
				ListKind: "PostgresClusterList", ShortNames: []string{"pgc"},
			},
			Scope:    apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{version("v1beta1", false), version("v1beta2", true)},
		},
	}
}

func spec(projection *syncagentv1alpha1.Projection, versions ...string) syncagentv1alpha1.PublishedResourceSpec {
	return syncagentv1alpha1.PublishedResourceSpec{
		Resource:   syncagentv1alpha1.SourceResource{APIGroup: "internal.dbs.example.com", Kind: "PostgresCluster", Versions: versions},
		Projection: projection,
	}
}

func TestBuildSchemaProjects(t *testing.T) {
	schema, ferr := BuildSchema(postgresCRD(), spec(&syncagentv1alpha1.Projection{
		Group: "databases.example.com", Kind: "Database", Versions: map[string]string{"v1beta2": "v1"},
		Scope: syncagentv1alpha1.ClusterScoped, ShortNames: []string{"db"},
	}, "v1beta2"))
	if ferr != nil {
		t.Fatal(ferr)
	}
	s := schema.Spec
	if s.Group != "databases.example.com" || s.Names.Kind != "Database" || s.Names.ListKind != "DatabaseList" ||
		s.Names.Plural != "databases" || s.Names.Singular != "database" || s.Scope != apiextensionsv1.ClusterScoped ||
		strings.Join(s.Names.ShortNames, ",") != "db" {
		t.Fatalf("projection not applied: %+v", s)
	}
	if len(s.Versions) != 1 || s.Versions[0].Name != "v1" || !s.Versions[0].Storage || !s.Versions[0].Served || s.Versions[0].Subresources.Status == nil {
		t.Fatalf("versions = %+v, want v1 served, storing, with status subresource", s.Versions)
	}
	if !strings.HasPrefix(schema.Name, "v") || !strings.HasSuffix(schema.Name, ".databases.databases.example.com") {
		t.Fatalf("schema name %q is not v<hash>.databases.databases.example.com", schema.Name)
	}
	var openAPI map[string]any
	if err := json.Unmarshal(s.Versions[0].Schema.Raw, &openAPI); err != nil || openAPI["type"] != "object" {
		t.Fatalf("OpenAPI schema not carried over: %s (%v)", s.Versions[0].Schema.Raw, err)
	}
}

func TestBuildSchemaVersions(t *testing.T) {
	all, ferr := BuildSchema(postgresCRD(), spec(nil))
	if ferr != nil {
		t.Fatal(ferr)
	}
	if len(all.Spec.Versions) != 2 || all.Spec.Versions[0].Storage || !all.Spec.Versions[1].Storage {
		t.Fatalf("default: every served version, storage kept on v1beta2; got %+v", all.Spec.Versions)
	}
	only, ferr := BuildSchema(postgresCRD(), spec(nil, "v1beta1"))
	if ferr != nil {
		t.Fatal(ferr)
	}
	if len(only.Spec.Versions) != 1 || !only.Spec.Versions[0].Storage {
		t.Fatalf("a published set without the CRD's storage version still needs one storage version: %+v", only.Spec.Versions)
	}

	for name, tc := range map[string]struct {
		spec  syncagentv1alpha1.PublishedResourceSpec
		field string
	}{
		"unserved version":   {spec(nil, "v2"), "spec.resource.versions[0]"},
		"rename of unknown":  {spec(&syncagentv1alpha1.Projection{Versions: map[string]string{"v9": "v1"}}), "spec.projection.versions[v9]"},
		"renames that clash": {spec(&syncagentv1alpha1.Projection{Versions: map[string]string{"v1beta1": "v1", "v1beta2": "v1"}}), "spec.projection.versions"},
	} {
		if _, ferr := BuildSchema(postgresCRD(), tc.spec); ferr == nil || ferr.Field != tc.field {
			t.Errorf("%s: error %v, want one on field %s", name, ferr, tc.field)
		}
	}
}

func TestSchemaNameFollowsContent(t *testing.T) {
	a, _ := BuildSchema(postgresCRD(), spec(nil))
	b, _ := BuildSchema(postgresCRD(), spec(nil))
	if a.Name != b.Name {
		t.Fatalf("same input, different names: %s, %s", a.Name, b.Name)
	}
	changed := postgresCRD()
	changed.Spec.Versions[1].Schema.OpenAPIV3Schema.Properties["status"] = apiextensionsv1.JSONSchemaProps{Type: "object"}
	c, _ := BuildSchema(changed, spec(nil))
	if c.Name == a.Name {
		t.Fatal("a changed CRD schema must yield a new schema name")
	}
	if resource, group, ok := SchemaResource(c.Name); !ok || resource != "postgresclusters" || group != "internal.dbs.example.com" {
		t.Fatalf("SchemaResource(%s) = %s, %s, %v", c.Name, resource, group, ok)
	}
}
