package services

import (
	"context"
	"errors"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/publishing"
)

// APIs is where the APIs a Service offers come from: the definition of the API that a
// PublishedResource names in spec.resource. A backend next to a provider cluster offers the
// cluster's CRDs (ClusterCRDs); one that serves a kcp workspace offers the APIs the workspace has
// bound (pkg/kcpapis). Everything else about a Service is the same for both.
type APIs interface {
	// Find returns the definition of the API res names, as a CustomResourceDefinition. An API
	// that is not there is an *APINotFound error; any other error is a failure to read.
	Find(ctx context.Context, res syncagentv1alpha1.SourceResource) (*apiextensionsv1.CustomResourceDefinition, error)
	// Source is an object of the kind whose changes change what Find returns (a CRD, an
	// APIBinding), for the controllers to watch.
	Source() client.Object
	// Defines reports whether obj, of Source's kind, may define the API res names: an event on
	// obj may change what Find(res) returns.
	Defines(obj client.Object, res syncagentv1alpha1.SourceResource) bool
}

// APINotFound says that the API a PublishedResource names is not there, in words a user can act
// on, with the Service condition reason that goes with it.
type APINotFound struct {
	// Reason is a Service condition reason, e.g. bindv1alpha1.ServiceReasonSourceCRDNotFound.
	Reason string
	// Detail says what is missing and what to do about it.
	Detail string
}

func (e *APINotFound) Error() string { return e.Detail }

// ClusterCRDs are the CRDs of a Kubernetes cluster, read through Reader: the APIs of a provider
// cluster.
type ClusterCRDs struct {
	Reader client.Reader
}

var _ APIs = ClusterCRDs{}

// Find returns the CRD of res's group and kind.
func (c ClusterCRDs) Find(ctx context.Context, res syncagentv1alpha1.SourceResource) (*apiextensionsv1.CustomResourceDefinition, error) {
	crd, err := publishing.FindCRD(ctx, c.Reader, res)
	if errors.Is(err, publishing.ErrNoCRD) {
		return nil, &APINotFound{Reason: bindv1alpha1.ServiceReasonSourceCRDNotFound, Detail: fmt.Sprintf(
			"CRD of kind %s in group %s not found in the provider cluster; create it or fix the PublishedResource", res.Kind, res.APIGroup)}
	}
	return crd, err
}

// Source is a CRD.
func (ClusterCRDs) Source() client.Object { return &apiextensionsv1.CustomResourceDefinition{} }

// Defines reports whether obj is the CRD of res's group and kind.
func (ClusterCRDs) Defines(obj client.Object, res syncagentv1alpha1.SourceResource) bool {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	return ok && crd.Spec.Group == res.APIGroup && crd.Spec.Names.Kind == res.Kind
}

// Or returns apis, or the CRDs read through c when apis is nil.
func Or(apis APIs, c client.Reader) APIs {
	if apis == nil {
		return ClusterCRDs{Reader: c}
	}
	return apis
}
