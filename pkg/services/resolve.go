package services

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/publishing"
)

// Resolved is what a Service gives the consumers that bind it.
type Resolved struct {
	// Service is the Service's name.
	Service string
	// Resources has one entry per selected PublishedResource, ordered by its name.
	Resources []Resource
}

// Resource is one PublishedResource of a Service: the API a consumer receives and where the
// copies of the consumer's objects live on the provider.
type Resource struct {
	// PublishedResource is the name of the PublishedResource.
	PublishedResource string
	// CRD is the consumer-facing definition (projected) that the consumer cluster installs.
	CRD *apiextensionsv1.CustomResourceDefinition
	// Bound maps the consumer-facing resource to the provider-side one (the CRD the
	// PublishedResource names), whose objects in the Consumer's namespace are the copies.
	Bound bindprotocol.BoundResource
	// Related are the kinds of objects that travel with each object, in spec.related order.
	Related []Related
	// Spec is the PublishedResource's spec: how the objects are synced (naming, mutation,
	// related objects).
	Spec syncagentv1alpha1.PublishedResourceSpec
	// Kinds are the kinds synced: the consumer's (projected) and the provider's.
	Kinds publishing.SyncKinds
	// CopiesStatus says the provider's CRD has a status subresource at the synced version.
	CopiesStatus bool
}

// Related is a kind of related object, on both sides.
type Related struct {
	// Identifier is the spec.related entry's identifier.
	Identifier string
	// Origin is the side whose objects are the originals.
	Origin syncagentv1alpha1.RelatedOrigin
	// Provider is the resource in the provider cluster, Consumer its name in the consumer cluster.
	Provider, Consumer schema.GroupVersionResource
}

// CRDs returns the consumer-facing CRDs, in the order of Resources.
func (r *Resolved) CRDs() []apiextensionsv1.CustomResourceDefinition {
	crds := make([]apiextensionsv1.CustomResourceDefinition, 0, len(r.Resources))
	for _, res := range r.Resources {
		crds = append(crds, *res.CRD.DeepCopy())
	}
	return crds
}

// BoundResources returns the mapping of every resource, in the order of Resources.
func (r *Resolved) BoundResources() []bindprotocol.BoundResource {
	bound := make([]bindprotocol.BoundResource, 0, len(r.Resources))
	for _, res := range r.Resources {
		bound = append(bound, res.Bound)
	}
	return bound
}

// StatusResources returns the consumer-facing resources as a Service's status lists them.
func (r *Resolved) StatusResources() []bindv1alpha1.ServiceResource {
	out := make([]bindv1alpha1.ServiceResource, 0, len(r.Resources))
	for _, res := range r.Resources {
		c := res.Bound.Consumer
		out = append(out, bindv1alpha1.ServiceResource{
			PublishedResource: res.PublishedResource,
			Group:             c.Group, Resource: c.Resource, Kind: c.Kind, Versions: c.Versions,
		})
	}
	return out
}

// Resolve finds what svc offers: the PublishedResources its selector matches, each validated and
// projected from the API it names. c reads PublishedResources; apis finds the APIs they name
// (nil: the CRDs read through c). A problem the user can fix (an invalid selector, a selector
// that matches nothing, an invalid PublishedResource, a missing API) is returned as an *Error for
// the first PublishedResource at fault by name; any other error is a failure to read.
func Resolve(ctx context.Context, c client.Reader, apis APIs, svc *bindv1alpha1.Service) (*Resolved, error) {
	prs, err := selected(ctx, c, svc)
	if err != nil {
		return nil, err
	}
	apis = Or(apis, c)
	resolved := &Resolved{Service: svc.Name}
	for i := range prs {
		res, err := resolveOne(ctx, apis, svc, &prs[i])
		if err != nil {
			return nil, err
		}
		resolved.Resources = append(resolved.Resources, *res)
	}
	if err := checkClashes(svc, resolved.Resources); err != nil {
		return nil, err
	}
	return resolved, nil
}

// selected lists the PublishedResources svc selects, by name.
func selected(ctx context.Context, c client.Reader, svc *bindv1alpha1.Service) ([]syncagentv1alpha1.PublishedResource, error) {
	selectorField := "spec.publishedResources"
	selector, err := metav1.LabelSelectorAsSelector(&svc.Spec.PublishedResources)
	if err != nil {
		return nil, serviceError(svc, bindv1alpha1.ServiceReasonInvalidSelector, selectorField,
			fmt.Sprintf("not a valid label selector: %v; fix matchLabels or matchExpressions", err))
	}
	prs := &syncagentv1alpha1.PublishedResourceList{}
	if err := c.List(ctx, prs, client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("listing the PublishedResources of Service %s: %w", svc.Name, err)
	}
	if len(prs.Items) == 0 {
		return nil, serviceError(svc, bindv1alpha1.ServiceReasonNoResources, selectorField, fmt.Sprintf(
			"no PublishedResource has labels matching %q; label the PublishedResources the Service offers, or fix the selector", selector))
	}
	slices.SortFunc(prs.Items, func(a, b syncagentv1alpha1.PublishedResource) int { return cmp.Compare(a.Name, b.Name) })
	return prs.Items, nil
}

// resolveOne validates one PublishedResource and builds what a consumer receives from it.
func resolveOne(ctx context.Context, apis APIs, svc *bindv1alpha1.Service, pr *syncagentv1alpha1.PublishedResource) (*Resource, error) {
	invalid := func(reason, fieldPath, detail string) *Error {
		return &Error{Reason: reason, Service: svc.Name, PublishedResource: pr.Name, Field: fieldPath, Detail: detail}
	}
	if errs := append(publishing.ValidateSpec(pr.Spec), validateRelated(pr.Spec)...); len(errs) > 0 {
		return nil, invalid(bindv1alpha1.ServiceReasonInvalidResource, errs[0].Field, errs[0].ErrorBody())
	}
	crd, err := apis.Find(ctx, pr.Spec.Resource)
	if notFound := (*APINotFound)(nil); errors.As(err, &notFound) {
		return nil, invalid(notFound.Reason, "spec.resource.kind", notFound.Detail)
	}
	if err != nil {
		return nil, fmt.Errorf("PublishedResource %s: %w", pr.Name, err)
	}
	if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		return nil, invalid(bindv1alpha1.ServiceReasonInvalidResource, "spec.resource.kind", fmt.Sprintf(
			"API %s is cluster-scoped, but a consumer's objects are copied into the consumer's namespace; a Service offers only namespaced APIs", crd.Name))
	}
	published, ferr := publishing.BuildSchema(crd, pr.Spec)
	if ferr != nil {
		return nil, invalid(bindv1alpha1.ServiceReasonInvalidResource, ferr.Field, ferr.ErrorBody())
	}
	consumerCRD, err := CRDFromSchema(published)
	if err != nil {
		return nil, fmt.Errorf("PublishedResource %s: %w", pr.Name, err)
	}
	consumerCRD.Annotations[PublishedResourceAnnotation] = pr.Name
	kinds, err := publishing.KindsFor(crd, pr.Spec)
	if err != nil {
		return nil, invalid(bindv1alpha1.ServiceReasonInvalidResource, "spec", err.Error())
	}
	return &Resource{
		PublishedResource: pr.Name,
		CRD:               consumerCRD,
		Bound:             bound(pr, crd, published),
		Related:           related(pr.Spec),
		Spec:              *pr.Spec.DeepCopy(),
		Kinds:             kinds,
		CopiesStatus:      publishing.HasStatus(crd, kinds.Provider.Version),
	}, nil
}

// validateRelated finds related resources that a Kubernetes consumer cannot be given: names that
// are no group or resource (as kcp's claims check them too), and originals on the provider in
// another namespace than the primary object's, which the Consumer's Role cannot reach.
func validateRelated(spec syncagentv1alpha1.PublishedResourceSpec) field.ErrorList {
	var errs field.ErrorList
	for _, e := range publishing.ValidateClaims(spec) {
		// An identity hash tells kcp's APIExports apart; a Kubernetes consumer has none.
		if !strings.HasSuffix(e.Field, ".identityHash") {
			errs = append(errs, e)
		}
	}
	root := field.NewPath("spec", "related")
	for i, rel := range spec.Related {
		path := root.Index(i)
		if rel.Group != "" {
			for _, msg := range validation.IsDNS1123Subdomain(rel.Group) {
				errs = append(errs, field.Invalid(path.Child("group"), rel.Group, msg))
			}
		}
		for _, msg := range validation.IsDNS1123Label(rel.Resource) {
			errs = append(errs, field.Invalid(path.Child("resource"), rel.Resource, msg))
		}
		if t := rel.Object.Template; rel.Origin == syncagentv1alpha1.OriginProvider && t != nil && t.Namespace != "" {
			errs = append(errs, field.Invalid(path.Child("object", "template", "namespace"), t.Namespace,
				"a consumer may read only its own namespace on the provider, so an original of origin provider must be next to the primary object; leave the namespace empty"))
		}
	}
	return errs
}

// bound maps the consumer-facing resource of the published schema to the CRD's.
func bound(pr *syncagentv1alpha1.PublishedResource, crd *apiextensionsv1.CustomResourceDefinition, published *apisv1alpha1.APIResourceSchema) bindprotocol.BoundResource {
	sourceOf := map[string]string{}
	if p := pr.Spec.Projection; p != nil {
		for from, to := range p.Versions {
			sourceOf[to] = from
		}
	}
	var consumerVersions, providerVersions []string
	for _, v := range published.Spec.Versions {
		consumerVersions = append(consumerVersions, v.Name)
		providerVersions = append(providerVersions, cmp.Or(sourceOf[v.Name], v.Name))
	}
	return bindprotocol.BoundResource{
		PublishedResource: pr.Name,
		Consumer: bindprotocol.Resource{
			Group: published.Spec.Group, Resource: published.Spec.Names.Plural,
			Kind: published.Spec.Names.Kind, Versions: consumerVersions,
		},
		Provider: bindprotocol.Resource{
			Group: crd.Spec.Group, Resource: crd.Spec.Names.Plural,
			Kind: crd.Spec.Names.Kind, Versions: providerVersions,
		},
		Related: relatedKinds(pr.Spec.Related),
	}
}

// relatedKinds are the kinds of the related entries as the consumer cluster serves them: under
// their projection's group and resource where one is set, as the syncagent names them in kcp.
func relatedKinds(entries []syncagentv1alpha1.RelatedResource) []bindprotocol.RelatedKind {
	var kinds []bindprotocol.RelatedKind
	for _, rel := range entries {
		kind := bindprotocol.RelatedKind{Group: rel.Group, Resource: rel.Resource, Origin: string(rel.Origin)}
		if p := rel.Projection; p != nil {
			kind.Group, kind.Resource = cmp.Or(p.Group, kind.Group), cmp.Or(p.Resource, kind.Resource)
		}
		kinds = append(kinds, kind)
	}
	return kinds
}

func related(spec syncagentv1alpha1.PublishedResourceSpec) []Related {
	var out []Related
	for _, rel := range spec.Related {
		out = append(out, Related{
			Identifier: rel.Identifier,
			Origin:     rel.Origin,
			Provider:   schema.GroupVersionResource{Group: rel.Group, Version: rel.Version, Resource: rel.Resource},
			Consumer:   publishing.RelatedConsumerResource(rel),
		})
	}
	return out
}

// checkClashes refuses two PublishedResources that give the consumer the same CRD: one
// consumer cluster cannot install both.
func checkClashes(svc *bindv1alpha1.Service, resources []Resource) error {
	offeredBy := map[string]string{}
	for _, res := range resources {
		if other, ok := offeredBy[res.CRD.Name]; ok {
			return &Error{
				Reason: bindv1alpha1.ServiceReasonInvalidResource, Service: svc.Name, PublishedResource: res.PublishedResource,
				Field: "spec.projection", Detail: fmt.Sprintf(
					"PublishedResource %s of the same Service gives consumers %s already; project one of them to another group or plural", other, res.CRD.Name),
			}
		}
		offeredBy[res.CRD.Name] = res.PublishedResource
	}
	return nil
}
