package konnector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// FieldManager is the konnector's server-side apply field manager for the CRDs it installs.
const FieldManager = "bindery-konnector"

// BindingLabel marks a CRD the konnector installed with the ServiceBinding it belongs to (a
// DNS label of the binding's name, as on the binding's Secret and ClusterRole).
const BindingLabel = konnectorrbac.BindingLabel

// bindingLabelValue is BindingLabel's value for a binding.
func bindingLabelValue(binding string) string { return templating.DNSLabel(binding) }

// errSchemaConflict marks a CRD that exists but is not the binding's.
var errSchemaConflict = errors.New("the CRD exists and is not this binding's")

// receivedCRD decodes the consumer-facing CRD of api and renames its group into group (""
// keeps the provider's): the name follows, <plural>.<group>, as Kubernetes requires. Only the
// name, labels and annotations of the provider's metadata are kept, and the CRD is labelled
// with its binding. A group that is Kubernetes' own is refused: a provider must not install
// APIs there.
func receivedCRD(api *bindv1alpha1.BoundAPI, group, binding string) (*apiextensionsv1.CustomResourceDefinition, error) {
	published := &apiextensionsv1.CustomResourceDefinition{}
	if err := json.Unmarshal(api.Spec.CRD.Raw, published); err != nil {
		return nil, fmt.Errorf("BoundAPI %s: decoding spec.crd: %w", api.Name, err)
	}
	spec := published.Spec
	if group != "" {
		spec.Group = group
	}
	gr := schema.GroupResource{Group: spec.Group, Resource: spec.Names.Plural}
	if err := konnectorrbac.ValidReceived(gr); err != nil {
		return nil, fmt.Errorf("BoundAPI %s: spec.crd: %w", api.Name, err)
	}
	labels := map[string]string{}
	for k, v := range published.Labels {
		labels[k] = v
	}
	labels[BindingLabel] = bindingLabelValue(binding)
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{APIVersion: apiextensionsv1.SchemeGroupVersion.String(), Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{
			Name: gr.String(), Labels: labels, Annotations: published.Annotations,
		},
		Spec: spec,
	}, nil
}

// ownedBy says whether an existing CRD may be applied for binding: it carries the binding's
// label. A CRD without it is someone else's (another binding's, or installed by hand or by
// another tool), which the konnector never takes over.
func ownedBy(existing *apiextensionsv1.CustomResourceDefinition, binding string) bool {
	return existing.Labels[BindingLabel] == bindingLabelValue(binding)
}

// installedCRD is what installing one received CRD found.
type installedCRD struct {
	resource    bindv1alpha1.ReceivedResource
	established bool
	// notEstablished says why the CRD is not established yet (its conditions), when known.
	notEstablished string
}

// installCRD applies crd for binding unless a CRD of its name is someone else's
// (errSchemaConflict), and reports whether the API server serves it.
func installCRD(ctx context.Context, c client.Client, crd *apiextensionsv1.CustomResourceDefinition, binding string) (installedCRD, error) {
	out := installedCRD{resource: bindv1alpha1.ReceivedResource{
		CRD: crd.Name, Group: crd.Spec.Group, Resource: crd.Spec.Names.Plural, Kind: crd.Spec.Names.Kind,
	}}
	existing := &apiextensionsv1.CustomResourceDefinition{}
	err := c.Get(ctx, client.ObjectKey{Name: crd.Name}, existing)
	switch {
	case err == nil && !ownedBy(existing, binding):
		return out, fmt.Errorf("%w: CRD %s has no label %s=%s", errSchemaConflict, crd.Name, BindingLabel, bindingLabelValue(binding))
	case err != nil && !apierrors.IsNotFound(err):
		return out, fmt.Errorf("reading CRD %s: %w", crd.Name, err)
	}
	applied, err := applyCRD(ctx, c, crd)
	if err != nil {
		return out, err
	}
	out.established, out.notEstablished = established(applied)
	return out, nil
}

// applyCRD server-side applies crd as FieldManager, taking over fields another manager of the
// binding's own CRD set (an edit by hand), and returns what the API server stored.
func applyCRD(ctx context.Context, c client.Client, crd *apiextensionsv1.CustomResourceDefinition) (*apiextensionsv1.CustomResourceDefinition, error) {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		return nil, fmt.Errorf("encoding CRD %s: %w", crd.Name, err)
	}
	// Fields the converter writes as null would be applied as "owned and empty".
	delete(content, "status")
	unstructured.RemoveNestedField(content, "metadata", "creationTimestamp")
	obj := &unstructured.Unstructured{Object: content}
	if err := c.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("applying CRD %s: %w", crd.Name, err)
	}
	applied := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, applied); err != nil {
		return nil, fmt.Errorf("decoding the applied CRD %s: %w", crd.Name, err)
	}
	return applied, nil
}

// established says whether the API server serves crd, and if not, what its conditions say.
func established(crd *apiextensionsv1.CustomResourceDefinition) (bool, string) {
	why := "the API server has not accepted it yet"
	for _, cond := range crd.Status.Conditions {
		switch {
		case cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue:
			return true, ""
		case cond.Type == apiextensionsv1.NamesAccepted && cond.Status == apiextensionsv1.ConditionFalse:
			why = "its names are not accepted: " + cond.Message
		}
	}
	return false, why
}
