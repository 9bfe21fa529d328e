package services

import (
	"fmt"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations on a consumer-facing CRD, for the konnector that installs it.
const (
	// PublishedResourceAnnotation names the PublishedResource the CRD comes from.
	PublishedResourceAnnotation = "bind.bindery.dev/published-resource"
	// SchemaAnnotation is the name of the APIResourceSchema the syncagent would publish for the
	// same PublishedResource; it contains a hash of the published API, so a changed value says
	// that the consumer's CRD must be updated.
	SchemaAnnotation = "bind.bindery.dev/schema"
)

// CRDFromSchema turns a published APIResourceSchema back into a CustomResourceDefinition, as a
// consumer's Kubernetes cluster installs it: the same group, names, scope and versions (OpenAPI
// schema, subresources, printer columns, deprecation and which version stores), named
// <plural>.<group> as Kubernetes requires. The schema's name goes into SchemaAnnotation.
func CRDFromSchema(s *apisv1alpha1.APIResourceSchema) (*apiextensionsv1.CustomResourceDefinition, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{
			APIVersion: apiextensionsv1.SchemeGroupVersion.String(),
			Kind:       "CustomResourceDefinition",
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:        s.Spec.Names.Plural + "." + s.Spec.Group,
			Annotations: map[string]string{SchemaAnnotation: s.Name},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: s.Spec.Group,
			Names: *s.Spec.Names.DeepCopy(),
			Scope: s.Spec.Scope,
		},
	}
	for i := range s.Spec.Versions {
		v, err := crdVersion(&s.Spec.Versions[i])
		if err != nil {
			return nil, fmt.Errorf("converting version %s of APIResourceSchema %s: %w", s.Spec.Versions[i].Name, s.Name, err)
		}
		crd.Spec.Versions = append(crd.Spec.Versions, v)
	}
	return crd, nil
}

func crdVersion(v *apisv1alpha1.APIResourceVersion) (apiextensionsv1.CustomResourceDefinitionVersion, error) {
	out := apiextensionsv1.CustomResourceDefinitionVersion{
		Name:                     v.Name,
		Served:                   v.Served,
		Storage:                  v.Storage,
		Deprecated:               v.Deprecated,
		DeprecationWarning:       v.DeprecationWarning,
		AdditionalPrinterColumns: v.AdditionalPrinterColumns,
	}
	openAPI, err := v.GetSchema()
	if err != nil {
		return out, fmt.Errorf("decoding the OpenAPI schema: %w", err)
	}
	if openAPI != nil {
		out.Schema = &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: openAPI}
	}
	// A CRD says "no subresources" with nil; an APIResourceVersion with an empty struct.
	if v.Subresources.Status != nil || v.Subresources.Scale != nil {
		out.Subresources = v.Subresources.DeepCopy()
	}
	return out, nil
}
