package crd

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// pollInterval is how often Install looks at the CRD's conditions; the API server establishes a
// new CRD within a second or two.
const pollInterval = 200 * time.Millisecond

// Install applies manifest, one CustomResourceDefinition in YAML, with server-side apply as
// fieldManager, and waits until it is Established or ctx ends. c's scheme must know
// apiextensions.k8s.io/v1.
//
// Ownership is forced: the manifest compiled into the operator describes the API this operator
// version serves, so it wins over changes made to the same fields by hand.
func Install(ctx context.Context, c client.Client, manifest []byte, fieldManager string) error {
	obj, err := Parse(manifest)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying CRD %s: %w", obj.GetName(), err)
	}
	return waitEstablished(ctx, c, obj.GetName())
}

// Parse decodes manifest and checks that it is one CustomResourceDefinition of
// apiextensions.k8s.io/v1.
func Parse(manifest []byte) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(manifest, &obj.Object); err != nil {
		return nil, fmt.Errorf("decoding CRD manifest: %w", err)
	}
	if gvk := obj.GroupVersionKind(); gvk != apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition") {
		return nil, fmt.Errorf("CRD manifest holds %s, want a CustomResourceDefinition of %s", gvk, apiextensionsv1.SchemeGroupVersion)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("CRD manifest has no metadata.name")
	}
	return obj, nil
}

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	var last string
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			last = err.Error()
			return false, nil // the API server answers with errors while it settles; try again
		}
		done, detail, err := Established(crd)
		last = detail
		return done, err
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s to be established (last seen: %s): %w", name, last, err)
	}
	return nil
}

// Established reports whether the API server serves crd. It returns an error when it never
// will: its names clash with another CRD's.
func Established(crd *apiextensionsv1.CustomResourceDefinition) (bool, string, error) {
	var established bool
	detail := "no Established condition yet"
	for _, cond := range crd.Status.Conditions {
		switch cond.Type {
		case apiextensionsv1.NamesAccepted:
			if cond.Status == apiextensionsv1.ConditionFalse {
				return false, cond.Message, fmt.Errorf("CRD %s: names not accepted: %s", crd.Name, cond.Message)
			}
		case apiextensionsv1.Established:
			established = cond.Status == apiextensionsv1.ConditionTrue
			detail = fmt.Sprintf("Established=%s: %s", cond.Status, cond.Message)
		}
	}
	return established, detail, nil
}
