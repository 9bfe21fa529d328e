package sync

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
type Related struct {
	Identifier string
	Origin     Origin
	// SourceGVK and DestinationGVK are the related kind on each side.
	SourceGVK, DestinationGVK schema.GroupVersionKind
	// Exactly one of Reference, NameTemplate or Selector finds the related objects, evaluated
	// against the primary object on the origin side, in its namespace.
	Reference    *mutation.Path
	NameTemplate *templating.Template
	Selector     labels.Selector
	Mutation     *mutation.Program
	// Cleanup deletes the copies when the primary object goes.
	Cleanup bool
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
	from, to := sides.destination, sides.source
	fromNamespace, toNamespace := sides.destinationNamespace, sides.sourceNamespace
	fromGVK, toGVK := rel.DestinationGVK, rel.SourceGVK
	primary := sides.destinationPrimary
	if rel.Origin == FromSource {
		from, to = sides.source, sides.destination
		fromNamespace, toNamespace = sides.sourceNamespace, sides.destinationNamespace
		fromGVK, toGVK = rel.SourceGVK, rel.DestinationGVK
		primary = sides.sourcePrimary
	}
	originals, err := findRelated(ctx, from, fromGVK, fromNamespace, primary, rel, owner.Source.Cluster)
	if err != nil {
		return err
	}
	var blocked error
	for _, original := range originals {
		desired, err := DesiredCopy(original, CopySpec{
			GVK: toGVK, Namespace: toNamespace, Name: original.GetName(), Owner: owner, Mutation: rel.Mutation,
			Data: templating.Data{ClusterName: owner.Source.Cluster, Object: original.Object},
		})
		if err != nil {
			events.Event(sides.sourcePrimary, corev1.EventTypeWarning, "RelatedMutationFailed", fmt.Sprintf("%s: %v", rel.Identifier, err))
			blocked = ErrBlocked
			continue
		}
		desired.SetLabels(withLabel(desired.GetLabels(), RelatedLabel, rel.Identifier))
		if ok, err := r.mayWrite(ctx, to, desired, owner); err != nil || !ok {
			if err == nil {
				events.Event(sides.sourcePrimary, corev1.EventTypeWarning, "RelatedConflict",
					fmt.Sprintf("%s: %s %s exists and is not managed by this provider; it is left alone", rel.Identifier, toGVK.Kind, desired.GetName()))
				return ErrBlocked
			}
			return err
		}
		if err := to.Patch(ctx, desired, client.Apply, client.FieldOwner(r.fieldManager()), client.ForceOwnership); err != nil {
			return fmt.Errorf("copying %s %s: %w", toGVK.Kind, original.GetName(), err)
		}
	}
	return blocked
}

// mayWrite reports whether the target of a related copy is free or already this owner's.
func (r *Reconciler) mayWrite(ctx context.Context, c client.Client, desired *unstructured.Unstructured, owner Owner) (bool, error) {
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(desired.GroupVersionKind())
	err := c.Get(ctx, client.ObjectKeyFromObject(desired), existing)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	verdict, _ := Decide(existing, owner)
	return verdict == Update, nil
}

// findRelated returns the related objects of a primary object on its origin side.
func findRelated(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace string, primary *unstructured.Unstructured, rel Related, cluster string) ([]*unstructured.Unstructured, error) {
	var names []string
	switch {
	case rel.Reference != nil:
		value, found, err := rel.Reference.Get(primary.Object)
		if err != nil || !found {
			return nil, err // not referenced (yet): the operator may write the reference later
		}
		name, ok := value.(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("%s does not hold a name", rel.Reference)
		}
		names = append(names, name)
	case rel.NameTemplate != nil:
		name, err := rel.NameTemplate.Render(templating.Data{ClusterName: cluster, Object: primary.Object})
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	case rel.Selector != nil:
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: rel.Selector}); err != nil {
			return nil, err
		}
		out := make([]*unstructured.Unstructured, 0, len(list.Items))
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		return out, nil
	}
	var out []*unstructured.Unstructured
	for _, name := range names {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
			if apierrors.IsNotFound(err) {
				continue // not written yet; its creation brings the primary back
			}
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// deleteRelated deletes the related copies marked for cleanup; it reports whether none is left.
func (r *Reconciler) deleteRelated(ctx context.Context, source client.Client, owner Owner) (bool, error) {
	gone := true
	for _, rel := range r.Related {
		if !rel.Cleanup {
			continue
		}
		c, gvk := source, rel.SourceGVK
		if rel.Origin == FromSource {
			c, gvk = r.Destination, rel.DestinationGVK
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		selector := withLabel(owner.Labels(), RelatedLabel, rel.Identifier)
		if err := c.List(ctx, list, client.MatchingLabels(selector)); err != nil {
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
	for k, v := range in {
		out[k] = v
	}
	out[key] = value
	return out
}
