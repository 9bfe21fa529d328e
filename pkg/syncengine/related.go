package syncengine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// RelatedLabel marks a copied related object with the identifier of its spec.related entry.
const RelatedLabel = "sync.bindery.dev/related"

// Origin is the side that owns a related object.
type Origin string

const (
	// FromDestination objects are written on the destination side (a credentials Secret the
	// provider's operator writes) and copied next to the source object.
	FromDestination Origin = "destination"
	// FromSource objects are written next to the source object and copied to the destination.
	FromSource Origin = "source"
)

// Related is one kind of object that travels with each synced object.
//
// The object on the origin side (the original) is the source of truth for everything but its
// status: its content is copied to the other side, next to the primary object there. With
// SyncStatus, the status flows the other way, from the copy back to the original, because the
// copy's side is the one that acts on the object (the provider's operator reports on a
// consumer's object, or a consumer-side controller on a provider's).
type Related struct {
	Identifier string
	Origin     Origin
	// SourceGVK and DestinationGVK are the related kind on each side. SourceGVK.Kind is empty
	// when the kind on the source side is not known up front (a projection renamed the resource
	// or its group): it is then discovered from SourceResource through each source cluster's
	// REST mapper (see SourceKind).
	SourceGVK, DestinationGVK schema.GroupVersionKind
	// SourceResource is the related resource on the source side.
	SourceResource schema.GroupVersionResource
	// Exactly one of Reference, NameTemplate or Selector finds the related objects, evaluated
	// against the primary object on the origin side, in its namespace. NamespaceTemplate, only
	// with NameTemplate, names another namespace on the origin side instead; the copy still lands
	// in the namespace of the primary object on the other side.
	Reference         *mutation.Path
	NameTemplate      *templating.Template
	NamespaceTemplate *templating.Template
	Selector          *SelectorTemplate
	// Mutation rewrites the copy; StatusMutation rewrites the copy's status on its way back to
	// the original (SyncStatus). Both may be nil.
	Mutation, StatusMutation *mutation.Program
	// SyncStatus copies the status of each copy back to its original.
	SyncStatus bool
	// Watch re-syncs the primary object when an original changes, not only when the primary
	// object does. (Copies are always watched, so that an edited or deleted copy is restored.)
	Watch bool
	// Cleanup deletes the copies when the primary object goes.
	Cleanup bool
}

// SourceKind returns the related kind on the source side, discovering it through mapper (the
// source cluster's) when it is not known up front.
func (rel Related) SourceKind(mapper meta.RESTMapper) (schema.GroupVersionKind, error) {
	if rel.SourceGVK.Kind != "" {
		return rel.SourceGVK, nil
	}
	if mapper == nil {
		return schema.GroupVersionKind{}, fmt.Errorf("no REST mapper to find the kind of %s", rel.SourceResource)
	}
	gvk, err := mapper.KindFor(rel.SourceResource)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("finding the kind of %s: %w", resourceString(rel.SourceResource), err)
	}
	return gvk, nil
}

func resourceString(gvr schema.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Resource + "/" + gvr.Version
	}
	return gvr.Resource + "." + gvr.Group + "/" + gvr.Version
}

// SelectorTemplate is a label selector whose matchLabels values are Go templates, rendered for
// each primary object. matchExpressions are used as they are.
type SelectorTemplate struct {
	selector *metav1.LabelSelector
	values   map[string]*templating.Template
}

// CompileSelector parses the matchLabels values of sel as templates and checks the rest of it.
// Errors name the field below path (for example object.selector.matchLabels[app]).
func CompileSelector(path string, sel *metav1.LabelSelector) (*SelectorTemplate, error) {
	out := &SelectorTemplate{selector: sel.DeepCopy(), values: map[string]*templating.Template{}}
	for key, value := range sel.MatchLabels {
		t, err := templating.Parse(fmt.Sprintf("%s.matchLabels[%s]", path, key), value)
		if err != nil {
			return nil, err
		}
		out.values[key] = t
	}
	// Checks keys, operators and the expressions' values; the label values are checked rendered.
	check := sel.DeepCopy()
	check.MatchLabels = nil
	if _, err := metav1.LabelSelectorAsSelector(check); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Render returns the selector for one primary object.
func (s *SelectorTemplate) Render(data templating.Data) (labels.Selector, error) {
	sel := s.selector.DeepCopy()
	for key, t := range s.values {
		value, err := t.Render(data)
		if err != nil {
			return nil, err
		}
		sel.MatchLabels[key] = strings.TrimSpace(value)
	}
	out, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("the rendered selector is invalid: %w", err)
	}
	return out, nil
}

// RelatedObject is where a related object of some primary object is expected: the identifier of
// its entry, the cluster (a source cluster's name, or "" for the destination cluster), namespace
// and name.
type RelatedObject struct {
	Identifier, Cluster, Namespace, Name string
}

// relatedIndex remembers, for entries whose objects live in another namespace than their
// primary object (object.template.namespace), which primary objects expect a related object
// where. A watch on the related kind cannot tell that from the object's namespace; the index
// leads a change of such an object back to its primary objects. It is filled as primary
// objects are synced (every primary object is synced when a controller starts), so it needs no
// state that outlives the process.
type relatedIndex struct {
	mu        sync.Mutex
	primaries map[RelatedObject]map[Source]struct{}
	expected  map[relatedOf]RelatedObject
}

type relatedOf struct {
	identifier string
	source     Source
}

func (x *relatedIndex) expect(source Source, obj RelatedObject) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.primaries == nil {
		x.primaries, x.expected = map[RelatedObject]map[Source]struct{}{}, map[relatedOf]RelatedObject{}
	}
	key := relatedOf{identifier: obj.Identifier, source: source}
	if previous, ok := x.expected[key]; ok {
		if previous == obj {
			return
		}
		x.drop(previous, source)
	}
	x.expected[key] = obj
	if x.primaries[obj] == nil {
		x.primaries[obj] = map[Source]struct{}{}
	}
	x.primaries[obj][source] = struct{}{}
}

// forget removes what a primary object expects; callers pass every identifier.
func (x *relatedIndex) forget(source Source, identifiers []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range identifiers {
		key := relatedOf{identifier: id, source: source}
		if obj, ok := x.expected[key]; ok {
			x.drop(obj, source)
			delete(x.expected, key)
		}
	}
}

func (x *relatedIndex) drop(obj RelatedObject, source Source) {
	delete(x.primaries[obj], source)
	if len(x.primaries[obj]) == 0 {
		delete(x.primaries, obj)
	}
}

func (x *relatedIndex) lookup(obj RelatedObject) []Source {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]Source, 0, len(x.primaries[obj]))
	for s := range x.primaries[obj] {
		out = append(out, s)
	}
	return out
}

// PrimariesOf returns the primary objects that expect a related object at obj. Only entries
// with object.template.namespace are indexed; for the others, the related object's namespace
// is the primary object's.
func (r *Reconciler) PrimariesOf(obj RelatedObject) []Source {
	return r.index.lookup(obj)
}

func (r *Reconciler) forgetRelated(source Source) {
	ids := make([]string, 0, len(r.Related))
	for _, rel := range r.Related {
		if rel.NamespaceTemplate != nil {
			ids = append(ids, rel.Identifier)
		}
	}
	if len(ids) > 0 {
		r.index.forget(source, ids)
	}
}

// relatedSides are the clients, namespaces and primary objects on both sides of one sync.
type relatedSides struct {
	source, destination                   client.Client
	sourceNamespace, destinationNamespace string
	sourcePrimary, destinationPrimary     *unstructured.Unstructured
}

// syncRelated copies every related object of a primary object to the other side. Problems with
// one related entry are reported as events and do not stop the others. It returns ErrBlocked
// only when nothing but conflicts and mutation failures (each with its own event) got in the way.
func (r *Reconciler) syncRelated(ctx context.Context, sides relatedSides, owner Owner, events record.EventRecorder) error {
	var errs []error
	blocked := false
	for _, rel := range r.Related {
		err := r.syncRelatedKind(ctx, sides, rel, owner, events)
		switch {
		case errors.Is(err, ErrBlocked):
			blocked = true
		case err != nil:
			errs = append(errs, fmt.Errorf("related %s: %w", rel.Identifier, err))
		}
	}
	if len(errs) == 0 && blocked {
		return ErrBlocked
	}
	return errors.Join(errs...)
}

func (r *Reconciler) syncRelatedKind(ctx context.Context, sides relatedSides, rel Related, owner Owner, events record.EventRecorder) error {
	sourceGVK, err := rel.SourceKind(sides.source.RESTMapper())
	if err != nil {
		return err
	}
	from, to := sides.destination, sides.source
	fromNamespace, toNamespace := sides.destinationNamespace, sides.sourceNamespace
	fromGVK, toGVK := rel.DestinationGVK, sourceGVK
	primary, originCluster := sides.destinationPrimary, ""
	if rel.Origin == FromSource {
		from, to = sides.source, sides.destination
		fromNamespace, toNamespace = sides.sourceNamespace, sides.destinationNamespace
		fromGVK, toGVK = sourceGVK, rel.DestinationGVK
		primary, originCluster = sides.sourcePrimary, owner.Source.Cluster
	}
	d := templating.Data{ClusterName: owner.Source.Cluster, Object: primary.Object}
	originals, err := r.findRelated(ctx, from, fromGVK, fromNamespace, primary, rel, d, owner.Source, originCluster)
	if err != nil {
		return err
	}
	var blocked error
	for _, original := range originals {
		desired, err := DesiredCopy(original, CopySpec{
			GVK: toGVK, Namespace: toNamespace, Name: relatedCopyName(rel, original.GetNamespace(), original.GetName()), Owner: owner, Mutation: rel.Mutation,
			Data: templating.Data{ClusterName: owner.Source.Cluster, Object: original.Object},
		})
		if err != nil {
			events.Event(sides.sourcePrimary, corev1.EventTypeWarning, "RelatedMutationFailed", fmt.Sprintf("%s: %v", rel.Identifier, err))
			blocked = ErrBlocked
			continue
		}
		desired.SetLabels(withLabel(desired.GetLabels(), RelatedLabel, rel.Identifier))
		verdict, existing, err := r.verdictAt(ctx, to, desired, owner)
		if err != nil {
			return err
		}
		if verdict.IsConflict() {
			events.Event(sides.sourcePrimary, corev1.EventTypeWarning, "RelatedConflict",
				fmt.Sprintf("%s: %s %s exists and is not managed by this provider; it is left alone", rel.Identifier, toGVK.Kind, desired.GetName()))
			return ErrBlocked
		}
		if verdict == Update {
			if err := r.ownAsApplied(ctx, to, existing); err != nil {
				return err
			}
		}
		// The answer is the copy as it is now, status included.
		if err := r.apply(ctx, to, desired, verdict == Create); err != nil {
			return fmt.Errorf("copying %s %s: %w", toGVK.Kind, original.GetName(), err)
		}
		if rel.SyncStatus {
			if err := relatedStatusBack(ctx, from, original, desired, rel, owner.Source.Cluster); err != nil {
				return fmt.Errorf("%s %s: %w", fromGVK.Kind, original.GetName(), err)
			}
		}
	}
	return blocked
}

// relatedStatusBack writes the status of a related copy, after the entry's status mutation, to
// its original. Nothing is written before the copy has a status, or when the status is the same.
// A resource without a status subresource keeps its status in the object itself.
func relatedStatusBack(ctx context.Context, origin client.Client, original, copied *unstructured.Unstructured, rel Related, cluster string) error {
	status, found, err := StatusUp(copied, rel.StatusMutation, templating.Data{ClusterName: cluster, Object: copied.Object})
	if err != nil || !found {
		return err
	}
	current, _, _ := unstructured.NestedMap(original.Object, "status")
	if equality.Semantic.DeepEqual(current, status) {
		return nil
	}
	patch := client.MergeFrom(original.DeepCopy())
	original.Object["status"] = status
	err = origin.Status().Patch(ctx, original, patch)
	if apierrors.IsNotFound(err) {
		err = origin.Patch(ctx, original, patch)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("writing the status back: %w", err)
	}
	return nil
}

// verdictAt decides whether the target of a related copy is free, already this owner's, or
// taken, and returns what is there.
func (r *Reconciler) verdictAt(ctx context.Context, c client.Client, desired *unstructured.Unstructured, owner Owner) (Verdict, *unstructured.Unstructured, error) {
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(desired.GroupVersionKind())
	err := c.Get(ctx, client.ObjectKeyFromObject(desired), existing)
	if apierrors.IsNotFound(err) {
		return Create, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	verdict, _ := Decide(existing, owner)
	return verdict, existing, nil
}

// relatedCopyName is the name of a related object's copy on the other side. A copy of a
// source-side original carries the original's namespace in its name: under the default naming
// the copies of every namespace of a source cluster share one destination namespace, and two
// namespaces may each hold a "db-config". A copy of a destination-side original lands next to
// the source object under the original's name, which the destination side already keeps apart.
func relatedCopyName(rel Related, namespace, name string) string {
	if rel.Origin == FromSource && namespace != "" {
		return templating.DNSLabel(namespace, name)
	}
	return name
}

// pointReferencesAtCopies makes the references to source-side related objects (object.reference)
// in the desired copy of a primary object name the related copies (relatedCopyName), which is
// what the destination side's controllers read. A reference that the spec mutation changed is
// left as the mutation wrote it.
func (r *Reconciler) pointReferencesAtCopies(desired, source *unstructured.Unstructured) error {
	for _, rel := range r.Related {
		if rel.Origin != FromSource || rel.Reference == nil || rel.NamespaceTemplate != nil {
			continue
		}
		original, found, err := rel.Reference.Get(source.Object)
		name, isName := original.(string)
		if err != nil || !found || !isName || name == "" {
			continue
		}
		if inCopy, found, err := rel.Reference.Get(desired.Object); err != nil || !found || inCopy != original {
			continue
		}
		if err := rel.Reference.Set(desired.Object, relatedCopyName(rel, source.GetNamespace(), name)); err != nil {
			return fmt.Errorf("related %s: pointing %s at the copy: %w", rel.Identifier, rel.Reference, err)
		}
	}
	return nil
}

// LocateRelated returns where the related object of a primary object is on the origin side,
// for the entries that name one object (object.reference or object.template): its namespace
// (the primary object's, or object.template.namespace rendered) and name. found is false when
// the reference is not set yet.
func LocateRelated(rel Related, primary *unstructured.Unstructured, namespace string, d templating.Data) (ns, name string, found bool, err error) {
	switch {
	case rel.Reference != nil:
		value, found, err := rel.Reference.Get(primary.Object)
		if err != nil || !found {
			return "", "", false, err // not referenced (yet): the operator may write the reference later
		}
		name, ok := value.(string)
		if !ok || name == "" {
			return "", "", false, fmt.Errorf("%s does not hold a name", rel.Reference)
		}
		return namespace, name, true, nil
	case rel.NameTemplate != nil:
		name, err := rel.NameTemplate.Render(d)
		if err != nil {
			return "", "", false, err
		}
		name = strings.TrimSpace(name)
		if name == "" {
			return "", "", false, errors.New("object.template.name rendered an empty name")
		}
		if errs := path.IsValidPathSegmentName(name); len(errs) > 0 {
			return "", "", false, fmt.Errorf("object.template.name rendered %q, which is not a valid name: %s", name, strings.Join(errs, "; "))
		}
		if rel.NamespaceTemplate != nil {
			rendered, err := rel.NamespaceTemplate.Render(d)
			if err != nil {
				return "", "", false, err
			}
			namespace = strings.TrimSpace(rendered)
			if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
				return "", "", false, fmt.Errorf("object.template.namespace rendered %q, which is not a valid namespace: %s", namespace, strings.Join(errs, "; "))
			}
		}
		return namespace, name, true, nil
	}
	return "", "", false, errors.New("the entry does not name one object")
}

// findRelated returns the related objects of a primary object on its origin side (cluster is
// the origin's source cluster name, "" for the destination cluster).
func (r *Reconciler) findRelated(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace string, primary *unstructured.Unstructured, rel Related, d templating.Data, source Source, cluster string) ([]*unstructured.Unstructured, error) {
	if rel.Selector != nil {
		sel, err := rel.Selector.Render(d)
		if err != nil {
			return nil, err
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, err
		}
		out := make([]*unstructured.Unstructured, 0, len(list.Items))
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		return out, nil
	}
	ns, name, found, err := LocateRelated(rel, primary, namespace, d)
	if err != nil || !found {
		return nil, err
	}
	if rel.NamespaceTemplate != nil {
		r.index.expect(source, RelatedObject{Identifier: rel.Identifier, Cluster: cluster, Namespace: ns, Name: name})
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil // not written yet; its creation brings the primary back
		}
		return nil, err
	}
	return []*unstructured.Unstructured{obj}, nil
}

// deleteRelated deletes the related copies marked for cleanup; it reports whether none is left.
func (r *Reconciler) deleteRelated(ctx context.Context, source client.Client, owner Owner) (bool, error) {
	gone := true
	for _, rel := range r.Related {
		if !rel.Cleanup {
			continue
		}
		c, gvk := r.Destination, rel.DestinationGVK
		if rel.Origin != FromSource {
			var err error
			if c, gvk = source, rel.SourceGVK; gvk.Kind == "" {
				if gvk, err = rel.SourceKind(source.RESTMapper()); err != nil {
					return false, fmt.Errorf("related %s: %w", rel.Identifier, err)
				}
			}
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		selector := withLabel(owner.Labels(), RelatedLabel, rel.Identifier)
		opts := []client.ListOption{client.MatchingLabels(selector)}
		if rel.Origin == FromSource {
			opts = append(opts, r.inDestination())
		}
		if err := c.List(ctx, list, opts...); err != nil {
			return false, fmt.Errorf("related %s: finding copies: %w", rel.Identifier, err)
		}
		for i := range list.Items {
			if got, ok := OwnerOf(&list.Items[i]); !ok || got != owner {
				continue
			}
			gone = false
			if err := c.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("related %s: deleting %s: %w", rel.Identifier, list.Items[i].GetName(), err)
			}
		}
	}
	return gone, nil
}

func withLabel(in map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(in)+1)
	maps.Copy(out, in)
	out[key] = value
	return out
}
