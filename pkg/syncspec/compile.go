package syncspec

import (
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/publishing"
	"github.com/bindery-dev/bindery/pkg/syncengine"
)

// Compiled is what a PublishedResource means to the sync engine: every field of a
// syncengine.Reconciler that follows from the PublishedResource and its CRD. The rest (clients,
// the agent's name, a destination namespace) is the caller's.
type Compiled struct {
	Kinds syncengine.Kinds
	Namer *syncengine.Namer
	// SpecMutation and StatusMutation are nil without spec.mutation.
	SpecMutation, StatusMutation *mutation.Program
	// ResourceSelector and NamespaceSelector are nil without spec.filter (everything is synced).
	ResourceSelector, NamespaceSelector labels.Selector
	Related                             []syncengine.Related
}

// KindFunc resolves a resource on the provider side to its kind; the syncagent passes its
// RESTMapper's KindFor.
type KindFunc func(schema.GroupVersionResource) (schema.GroupVersionKind, error)

// Option changes how Compile compiles.
type Option func(*options)

type options struct {
	consumerGroup string
}

// WithConsumerGroup replaces the group of the consumer-facing (source) kind, after the
// projection: a consumer may receive an API under a group of its choosing, so that the same API
// from two providers fits in one cluster. Related resources keep their groups: they are built-in
// or provider kinds, not renamed per consumer. "" keeps the projected group.
func WithConsumerGroup(group string) Option {
	return func(o *options) { o.consumerGroup = group }
}

// Compile compiles spec for crd, the provider's CRD of spec.resource. kindOf resolves a related
// resource's provider-side kind. Errors name the field of spec they come from.
func Compile(crd *apiextensionsv1.CustomResourceDefinition, spec syncagentv1alpha1.PublishedResourceSpec, kindOf KindFunc, opts ...Option) (*Compiled, error) {
	kinds, err := publishing.KindsFor(crd, spec)
	if err != nil {
		return nil, err
	}
	return CompileForKinds(syncengine.Kinds{
		Source: kinds.Consumer, Destination: kinds.Provider, DestinationNamespaced: kinds.ProviderNamespaced,
		CopiesStatus: publishing.HasStatus(crd, kinds.Provider.Version),
	}, spec, kindOf, opts...)
}

// CompileForKinds compiles spec for kinds already derived from the provider's CRD, for a process
// that cannot read the CRD itself: the konnector gets the kinds from its BoundAPI, which the
// backend derived with publishing.KindsFor as Compile does.
func CompileForKinds(kinds syncengine.Kinds, spec syncagentv1alpha1.PublishedResourceSpec, kindOf KindFunc, opts ...Option) (*Compiled, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.consumerGroup != "" {
		if err := validateGroup(o.consumerGroup); err != nil {
			return nil, err
		}
		kinds.Source.Group = o.consumerGroup
	}
	c := &Compiled{Kinds: kinds}
	var err error
	if c.Namer, err = compileNaming(spec.Naming); err != nil {
		return nil, err
	}
	if c.SpecMutation, c.StatusMutation, err = compileMutation("spec.mutation", spec.Mutation); err != nil {
		return nil, err
	}
	if err := c.compileFilter(spec.Filter); err != nil {
		return nil, err
	}
	if c.Related, err = compileRelatedList(spec.Related, kindOf); err != nil {
		return nil, err
	}
	return c, nil
}

// Apply sets the compiled fields on r: Kinds, Namer, the mutations, the selectors and Related.
func (c *Compiled) Apply(r *syncengine.Reconciler) {
	r.Kinds, r.Namer = c.Kinds, c.Namer
	r.SpecMutation, r.StatusMutation = c.SpecMutation, c.StatusMutation
	r.ResourceSelector, r.NamespaceSelector = c.ResourceSelector, c.NamespaceSelector
	r.Related = c.Related
}

// validateGroup checks a consumer group as the API server checks a CRD's group, so that the
// consumer-facing CRD can be installed under it.
func validateGroup(group string) error {
	errs := validation.IsDNS1123Subdomain(group)
	if !strings.Contains(group, ".") {
		errs = append(errs, "must contain at least one dot")
	}
	if len(errs) > 0 {
		return fmt.Errorf("consumer group %q: %s", group, strings.Join(errs, "; "))
	}
	return nil
}

func compileNaming(n *syncagentv1alpha1.Naming) (*syncengine.Namer, error) {
	naming := syncengine.Naming{Field: field.NewPath("spec", "naming")}
	if n != nil {
		naming.Namespace, naming.Name = n.Namespace, n.Name
	}
	return syncengine.NewNamer(naming)
}

// compileMutation compiles both step lists of m, found at path (nil programs without m).
func compileMutation(path string, m *syncagentv1alpha1.Mutation) (spec, status *mutation.Program, err error) {
	if m == nil {
		return nil, nil, nil
	}
	if spec, err = mutation.Compile(m.Spec); err != nil {
		return nil, nil, fmt.Errorf("%s.spec: %w", path, err)
	}
	if status, err = mutation.Compile(m.Status); err != nil {
		return nil, nil, fmt.Errorf("%s.status: %w", path, err)
	}
	return spec, status, nil
}

func (c *Compiled) compileFilter(f *syncagentv1alpha1.Filter) error {
	if f == nil {
		return nil
	}
	var err error
	if c.ResourceSelector, err = selector(f.Resource); err != nil {
		return fmt.Errorf("spec.filter.resource: %w", err)
	}
	if c.NamespaceSelector, err = selector(f.Namespace); err != nil {
		return fmt.Errorf("spec.filter.namespace: %w", err)
	}
	return nil
}

// selector converts sel, keeping nil (no filter) apart from an empty selector.
func selector(sel *metav1.LabelSelector) (labels.Selector, error) {
	if sel == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(sel)
}
