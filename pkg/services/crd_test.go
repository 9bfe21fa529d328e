package services

import (
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/publishing"
)

// databaseCRD is a provider CRD with two served versions (v1beta2 stores), a status and scale
// subresource and a printer column on v1beta2.
func databaseCRD() *apiextensionsv1.CustomResourceDefinition {
	openAPI := &apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec":   {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"size": {Type: "string"}}},
			"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"phase": {Type: "string"}}},
		},
	}
	replicas := ".spec.replicas"
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "databases.internal.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "internal.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "databases", Singular: "database", Kind: "Database", ListKind: "DatabaseList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1beta1", Served: true, Deprecated: true, Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: openAPI}},
				{
					Name: "v1beta2", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: openAPI},
					Subresources: &apiextensionsv1.CustomResourceSubresources{
						Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
						Scale:  &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: replicas, StatusReplicasPath: ".status.replicas"},
					},
					AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Phase", Type: "string", JSONPath: ".status.phase"}},
				},
			},
		},
	}
}

func projectedSpec() syncagentv1alpha1.PublishedResourceSpec {
	return syncagentv1alpha1.PublishedResourceSpec{
		Resource: syncagentv1alpha1.SourceResource{APIGroup: "internal.example.com", Kind: "Database"},
		Projection: &syncagentv1alpha1.Projection{
			Group: "dbs.example.com", Kind: "PostgresDatabase", Versions: map[string]string{"v1beta2": "v1"},
		},
	}
}

func TestCRDFromSchemaKeepsTheProjectedAPI(t *testing.T) {
	source := databaseCRD()
	published, ferr := publishing.BuildSchema(source, projectedSpec())
	if ferr != nil {
		t.Fatal(ferr)
	}
	crd, err := CRDFromSchema(published)
	if err != nil {
		t.Fatal(err)
	}
	if crd.Name != "postgresdatabases.dbs.example.com" || crd.Spec.Group != "dbs.example.com" ||
		crd.Spec.Names.Kind != "PostgresDatabase" || crd.Spec.Names.ListKind != "PostgresDatabaseList" ||
		crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Fatalf("names not projected: %s %+v", crd.Name, crd.Spec)
	}
	if crd.Kind != "CustomResourceDefinition" || crd.APIVersion != "apiextensions.k8s.io/v1" {
		t.Errorf("type meta = %+v, want a CRD that can be applied as it is", crd.TypeMeta)
	}
	if crd.Annotations[SchemaAnnotation] != published.Name {
		t.Errorf("annotation %s = %q, want %q", SchemaAnnotation, crd.Annotations[SchemaAnnotation], published.Name)
	}
	if len(crd.Spec.Versions) != 2 {
		t.Fatalf("versions = %+v, want v1beta1 and v1", crd.Spec.Versions)
	}
	old, stored := crd.Spec.Versions[0], crd.Spec.Versions[1]
	if old.Name != "v1beta1" || !old.Deprecated || old.Storage || old.Subresources != nil {
		t.Errorf("v1beta1 = %+v, want deprecated, not stored, no subresources", old)
	}
	want := source.Spec.Versions[1]
	if stored.Name != "v1" || !stored.Storage || !stored.Served {
		t.Errorf("v1 = %+v, want the served storage version", stored)
	}
	if !reflect.DeepEqual(stored.Schema, want.Schema) {
		t.Errorf("schema = %+v, want %+v", stored.Schema, want.Schema)
	}
	if !reflect.DeepEqual(stored.Subresources, want.Subresources) {
		t.Errorf("subresources = %+v, want %+v", stored.Subresources, want.Subresources)
	}
	if !reflect.DeepEqual(stored.AdditionalPrinterColumns, want.AdditionalPrinterColumns) {
		t.Errorf("printer columns = %+v, want %+v", stored.AdditionalPrinterColumns, want.AdditionalPrinterColumns)
	}
}

func TestCRDFromSchemaOfACRDWithoutSchema(t *testing.T) {
	source := databaseCRD()
	source.Spec.Versions = source.Spec.Versions[:1]
	source.Spec.Versions[0].Schema = nil
	published, ferr := publishing.BuildSchema(source, syncagentv1alpha1.PublishedResourceSpec{Resource: projectedSpec().Resource})
	if ferr != nil {
		t.Fatal(ferr)
	}
	crd, err := CRDFromSchema(published)
	if err != nil {
		t.Fatal(err)
	}
	v := crd.Spec.Versions[0]
	if !v.Storage || v.Schema == nil || v.Schema.OpenAPIV3Schema.XPreserveUnknownFields == nil || !*v.Schema.OpenAPIV3Schema.XPreserveUnknownFields {
		t.Fatalf("version = %+v, want the only version stored with a schema that keeps unknown fields", v)
	}
}
