package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
	"github.com/bindery-dev/bindery/examples/database-operator/config"
)

func loadCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(config.CRD, crd); err != nil {
		t.Fatalf("crd.yaml: %v", err)
	}
	return crd
}

func TestCRDNames(t *testing.T) {
	crd := loadCRD(t)
	names := crd.Spec.Names
	if crd.Name != "databases.db.provider.example" || crd.Spec.Group != dbv1alpha1.GroupVersion.Group ||
		names.Kind != "Database" || names.ListKind != "DatabaseList" || names.Plural != "databases" ||
		names.Singular != "database" || !slices.Equal(names.ShortNames, []string{"db"}) ||
		crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Errorf("CRD names = %s %s %+v %s", crd.Name, crd.Spec.Group, names, crd.Spec.Scope)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("CRD has %d versions, want 1", len(crd.Spec.Versions))
	}
	v := crd.Spec.Versions[0]
	if v.Name != dbv1alpha1.GroupVersion.Version || !v.Served || !v.Storage || v.Subresources == nil || v.Subresources.Status == nil {
		t.Errorf("version %s: served %v, storage %v, subresources %+v; want v1alpha1 served, stored, with status", v.Name, v.Served, v.Storage, v.Subresources)
	}
	var columns []string
	for _, c := range v.AdditionalPrinterColumns {
		columns = append(columns, c.Name)
	}
	if want := []string{"Engine", "Phase", "Endpoint", "Age"}; !slices.Equal(columns, want) {
		t.Errorf("printer columns = %v, want %v", columns, want)
	}
}

// TestCRDSchemaMatchesTypes keeps the hand-written schema and the Go types in step: the same
// fields, the same JSON types, and required exactly where the Go field is not omitempty.
func TestCRDSchemaMatchesTypes(t *testing.T) {
	root := loadCRD(t).Spec.Versions[0].Schema.OpenAPIV3Schema
	typ := reflect.TypeFor[dbv1alpha1.Database]()
	for _, field := range []string{"spec", "status"} {
		goField, _ := fieldByJSONName(typ, field)
		compareSchema(t, field, goField.Type, root.Properties[field])
	}
	if !slices.Equal(root.Required, []string{"spec"}) {
		t.Errorf("root: required = %v, want [spec]", root.Required)
	}
}

// timeType and other types with their own JSON form are strings in the schema.
var timeType = reflect.TypeFor[metav1.Time]()

func compareSchema(t *testing.T, path string, typ reflect.Type, schema apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == timeType:
		expectType(t, path, schema, "string")
	case typ.Kind() == reflect.String:
		expectType(t, path, schema, "string")
	case typ.Kind() == reflect.Int32 || typ.Kind() == reflect.Int64:
		expectType(t, path, schema, "integer")
		if want := "int" + strings.TrimPrefix(typ.Kind().String(), "int"); schema.Format != want {
			t.Errorf("%s: format %q, want %q", path, schema.Format, want)
		}
	case typ.Kind() == reflect.Slice:
		expectType(t, path, schema, "array")
		if schema.Items == nil || schema.Items.Schema == nil {
			t.Errorf("%s: array without items schema", path)
			return
		}
		compareSchema(t, path+"[]", typ.Elem(), *schema.Items.Schema)
	case typ.Kind() == reflect.Struct:
		expectType(t, path, schema, "object")
		compareFields(t, path, typ, schema)
	default:
		t.Errorf("%s: Go type %s is not handled by this test", path, typ)
	}
}

func compareFields(t *testing.T, path string, typ reflect.Type, schema apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	var required []string
	for i := range typ.NumField() {
		name, omitempty := jsonName(typ.Field(i))
		if name == "" {
			continue
		}
		if !omitempty {
			required = append(required, name)
		}
		prop, ok := schema.Properties[name]
		if !ok {
			t.Errorf("%s.%s: in the Go type, missing in crd.yaml", path, name)
			continue
		}
		compareSchema(t, path+"."+name, typ.Field(i).Type, prop)
	}
	for name := range schema.Properties {
		if _, ok := fieldByJSONName(typ, name); !ok {
			t.Errorf("%s.%s: in crd.yaml, missing in the Go type", path, name)
		}
	}
	slices.Sort(required)
	got := slices.Sorted(slices.Values(schema.Required))
	if !slices.Equal(got, required) {
		t.Errorf("%s: required = %v in crd.yaml, want %v (the Go fields without omitempty)", path, got, required)
	}
}

func expectType(t *testing.T, path string, schema apiextensionsv1.JSONSchemaProps, want string) {
	t.Helper()
	if schema.Type != want {
		t.Errorf("%s: type %q in crd.yaml, want %q", path, schema.Type, want)
	}
	if schema.Description == "" {
		t.Errorf("%s: no description in crd.yaml", path)
	}
}

func jsonName(f reflect.StructField) (name string, omitempty bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return "", false
	}
	return name, strings.Contains(opts, "omitempty")
}

func fieldByJSONName(typ reflect.Type, name string) (reflect.StructField, bool) {
	for i := range typ.NumField() {
		if n, _ := jsonName(typ.Field(i)); n == name {
			return typ.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func TestSample(t *testing.T) {
	db := &dbv1alpha1.Database{}
	if err := yaml.UnmarshalStrict(config.Sample, db); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	if db.APIVersion != dbv1alpha1.GroupVersion.String() || db.Kind != "Database" || db.Name != "orders" ||
		db.Namespace != "" || db.Spec.Engine != dbv1alpha1.EnginePostgres || db.Spec.StorageGB != 5 {
		t.Errorf("sample.yaml = %+v, want Database orders without namespace, postgres, 5 GB", db)
	}
}

func TestRBACDecodes(t *testing.T) {
	var kinds []string
	for doc := range strings.SplitSeq(string(config.RBAC), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("rbac.yaml: %v", err)
		}
		kinds = append(kinds, meta.Kind)
		if meta.Kind == "ClusterRole" || meta.Kind == "Role" {
			role := &rbacv1.ClusterRole{}
			if err := yaml.UnmarshalStrict([]byte(doc), role); err != nil {
				t.Errorf("rbac.yaml %s: %v", meta.Kind, err)
			}
		}
	}
	want := []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
	if !slices.Equal(kinds, want) {
		t.Errorf("rbac.yaml holds %v, want %v", kinds, want)
	}
}

// TestCRDValidation checks the rules the operator relies on: the engines it knows, the phases it
// writes, and storage of at least 1 GB, 10 by default.
func TestCRDValidation(t *testing.T) {
	root := loadCRD(t).Spec.Versions[0].Schema.OpenAPIV3Schema
	spec, status := root.Properties["spec"], root.Properties["status"]

	if got, want := enum(t, spec.Properties["engine"]), []string{string(dbv1alpha1.EnginePostgres), string(dbv1alpha1.EngineMySQL)}; !slices.Equal(got, want) {
		t.Errorf("spec.engine enum = %v, want %v", got, want)
	}
	wantPhases := []string{string(dbv1alpha1.PhaseProvisioning), string(dbv1alpha1.PhaseReady), string(dbv1alpha1.PhaseDeleting)}
	if got := enum(t, status.Properties["phase"]); !slices.Equal(got, wantPhases) {
		t.Errorf("status.phase enum = %v, want %v", got, wantPhases)
	}
	storage := spec.Properties["storageGB"]
	if storage.Minimum == nil || *storage.Minimum != 1 || storage.Default == nil || string(storage.Default.Raw) != "10" {
		t.Errorf("spec.storageGB: minimum %v, default %v; want 1 and 10", storage.Minimum, storage.Default)
	}
}

func enum(t *testing.T, schema apiextensionsv1.JSONSchemaProps) []string {
	t.Helper()
	var values []string
	for _, v := range schema.Enum {
		var s string
		if err := yaml.Unmarshal(v.Raw, &s); err != nil {
			t.Fatalf("enum value %s: %v", v.Raw, err)
		}
		values = append(values, s)
	}
	return values
}
