package publishing

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// AgentNameLabel marks the kcp objects an agent owns with its agent name.
const AgentNameLabel = "syncagent.bindery.dev/agent-name"

// BuildSchema returns the APIResourceSchema that publishes crd as spec describes. Its name is
// v<hash>.<plural>.<group>, where the hash covers the whole schema spec: the same input always
// yields the same name, and any change to the published API yields a new one, as kcp's immutable
// schemas require. Problems are returned as field errors on spec.
func BuildSchema(crd *apiextensionsv1.CustomResourceDefinition, spec syncagentv1alpha1.PublishedResourceSpec) (*apisv1alpha1.APIResourceSchema, *field.Error) {
	versions, ferr := publishedVersions(crd, spec)
	if ferr != nil {
		return nil, ferr
	}
	schemaSpec := apisv1alpha1.APIResourceSchemaSpec{
		Group:    crd.Spec.Group,
		Names:    *crd.Spec.Names.DeepCopy(),
		Scope:    crd.Spec.Scope,
		Versions: versions,
	}
	if p := spec.Projection; p != nil {
		project(&schemaSpec, p)
	}
	hash, err := contentHash(schemaSpec)
	if err != nil {
		return nil, field.InternalError(field.NewPath("spec"), err)
	}
	return &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{
			Name: "v" + hash + "." + schemaSpec.Names.Plural + "." + schemaSpec.Group,
		},
		Spec: schemaSpec,
	}, nil
}

// publishedVersions returns the CRD versions to publish, renamed, with exactly one storage version.
func publishedVersions(crd *apiextensionsv1.CustomResourceDefinition, spec syncagentv1alpha1.PublishedResourceSpec) ([]apisv1alpha1.APIResourceVersion, *field.Error) {
	served := map[string]apiextensionsv1.CustomResourceDefinitionVersion{}
	var order []string
	for _, v := range crd.Spec.Versions {
		if v.Served {
			served[v.Name] = v
			order = append(order, v.Name)
		}
	}
	wanted := spec.Resource.Versions
	if len(wanted) == 0 {
		wanted = order
	}
	var renames map[string]string
	if spec.Projection != nil {
		renames = spec.Projection.Versions
	}
	seen := map[string]bool{}
	var versions []apisv1alpha1.APIResourceVersion
	storage := -1
	for i, name := range wanted {
		v, ok := served[name]
		if !ok {
			return nil, field.NotSupported(field.NewPath("spec", "resource", "versions").Index(i), name, order)
		}
		published := name
		if renamed, ok := renames[name]; ok {
			published = renamed
		}
		if seen[published] {
			return nil, field.Duplicate(field.NewPath("spec", "projection", "versions"), published)
		}
		seen[published] = true
		version, err := convertVersion(v, published)
		if err != nil {
			return nil, field.Invalid(field.NewPath("spec", "resource", "versions").Index(i), name, err.Error())
		}
		if v.Storage {
			storage = len(versions)
		}
		versions = append(versions, version)
	}
	for from := range renames {
		if _, ok := served[from]; !ok {
			return nil, field.NotFound(field.NewPath("spec", "projection", "versions").Key(from), from)
		}
	}
	// A CRD's storage version may be left out of the published set; then the first published
	// version stores, which is what kcp needs: exactly one storage version per schema.
	if storage < 0 {
		storage = 0
	}
	versions[storage].Storage = true
	return versions, nil
}

func convertVersion(v apiextensionsv1.CustomResourceDefinitionVersion, name string) (apisv1alpha1.APIResourceVersion, error) {
	out := apisv1alpha1.APIResourceVersion{
		Name:                     name,
		Served:                   true,
		Deprecated:               v.Deprecated,
		DeprecationWarning:       v.DeprecationWarning,
		AdditionalPrinterColumns: v.AdditionalPrinterColumns,
	}
	if v.Subresources != nil {
		out.Subresources = *v.Subresources.DeepCopy()
	}
	openAPI := &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTo(true)}
	if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
		openAPI = v.Schema.OpenAPIV3Schema
	}
	raw, err := json.Marshal(openAPI)
	if err != nil {
		return out, fmt.Errorf("encoding the OpenAPI schema: %w", err)
	}
	out.Schema = runtime.RawExtension{Raw: raw}
	return out, nil
}

// project applies the projection to a schema spec.
func project(s *apisv1alpha1.APIResourceSchemaSpec, p *syncagentv1alpha1.Projection) {
	if p.Group != "" {
		s.Group = p.Group
	}
	if p.Kind != "" {
		s.Names.Kind = p.Kind
		s.Names.ListKind = p.Kind + "List"
		s.Names.Singular = strings.ToLower(p.Kind)
		s.Names.Plural = strings.ToLower(p.Kind) + "s"
	}
	if p.Plural != "" {
		s.Names.Plural = p.Plural
	}
	if p.Scope != "" {
		s.Scope = apiextensionsv1.ResourceScope(p.Scope)
	}
	if p.ShortNames != nil {
		s.Names.ShortNames = p.ShortNames
	}
	if p.Categories != nil {
		s.Names.Categories = p.Categories
	}
}

// contentHash is the first 10 hex characters of the SHA-256 of the spec's JSON.
func contentHash(spec apisv1alpha1.APIResourceSchemaSpec) (string, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:10], nil
}

// SchemaResource returns the resource and group a schema name v<hash>.<plural>.<group> publishes.
func SchemaResource(schemaName string) (resource, group string, ok bool) {
	parts := strings.SplitN(schemaName, ".", 3)
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// GroupKind returns "kind.group" as status shows it.
func GroupKind(kind, group string) string { return kind + "." + group }

func ptrTo[T any](v T) *T { return &v }
