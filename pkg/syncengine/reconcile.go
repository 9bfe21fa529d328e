package syncengine

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// SourceClusters gives access to the clusters that hold the source of truth: kcp workspaces for
// the syncagent, a consumer cluster for the konnector.
type SourceClusters interface {
	// Cluster returns a client for one source cluster and a recorder for events there.
	Cluster(ctx context.Context, name string) (client.Client, record.EventRecorder, error)
}

// Kinds are the kinds on both sides of a sync.
type Kinds struct {
	Source, Destination           schema.GroupVersionKind
	DestinationNamespaced         bool
	SourceHasStatus, CopiesStatus bool
}

// Reconciler syncs one kind of object from source clusters into the destination cluster: spec,
// labels and annotations down; status up; deletion through a finalizer on the source object.
type Reconciler struct {
	Sources     SourceClusters
	Destination client.Client
	Agent       string
	Kinds       Kinds
	Namer       *Namer
	// SpecMutation and StatusMutation may be nil.
	SpecMutation, StatusMutation *mutation.Program
	// ResourceSelector and NamespaceSelector filter the source objects (nil: everything).
	ResourceSelector, NamespaceSelector labels.Selector
	// Related are the kinds of objects that travel with each synced object.
	Related []Related

	// index leads changes of related objects in other namespaces back to their primary objects.
	index relatedIndex
}

// Finalizer keeps a source object until its copy is gone.
const Finalizer = "sync.bindery.dev/cleanup"

// retryDeletion paces the wait for a copy that the destination has not removed yet.
const retryDeletion = 2 * time.Second

// fieldManager is the server-side apply field manager of an agent: fields it applied are its
// own; fields the destination's defaulting, webhooks or controllers set stay theirs.
func (r *Reconciler) fieldManager() string { return "bindery-" + r.Agent }

// Reconcile syncs the source object key of cluster. It returns how soon to look again when
// something is still in progress.
func (r *Reconciler) Reconcile(ctx context.Context, cluster string, key types.NamespacedName) (time.Duration, error) {
	src, events, err := r.Sources.Cluster(ctx, cluster)
	if err != nil {
		return 0, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.Kinds.Source)
	if err := src.Get(ctx, key, obj); err != nil {
		if !apierrors.IsNotFound(err) {
			return 0, err
		}
		// Gone without our finalizer (deleted while the agent was down before it ever saw the
		// object, or the finalizer was removed by hand): remove a copy that may be left.
		source := Source{Cluster: cluster, Namespace: key.Namespace, Name: key.Name}
		r.forgetRelated(source)
		_, err := r.deleteCopy(ctx, source)
		return 0, err
	}
	owner := Owner{Agent: r.Agent, Source: SourceOf(cluster, obj)}

	selected, err := r.selected(ctx, src, obj)
	if err != nil {
		return 0, reportFailure(events, obj, err)
	}
	if !obj.GetDeletionTimestamp().IsZero() || !selected {
		after, err := r.release(ctx, src, obj, owner.Source)
		return after, reportFailure(events, obj, err)
	}
	accepted := false
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		patch := client.MergeFrom(obj.DeepCopy())
		controllerutil.AddFinalizer(obj, Finalizer)
		if err := src.Patch(ctx, obj, patch); err != nil {
			return 0, reportFailure(events, obj, fmt.Errorf("adding the finalizer %s: %w", Finalizer, err))
		}
		accepted = true
	}
	return 0, reportFailure(events, obj, r.sync(ctx, src, obj, owner, events, accepted))
}

// sync moves spec down, status up and related objects across. accepted says that this pass
// added the finalizer, which the consumer learns of from an event.
func (r *Reconciler) sync(ctx context.Context, src client.Client, obj *unstructured.Unstructured, owner Owner, events record.EventRecorder, accepted bool) error {
	copied, created, err := r.syncDown(ctx, obj, owner, events)
	announce(events, obj, accepted, created)
	if err != nil {
		return err
	}
	if copied == nil {
		return ErrBlocked // reported as NamingFailed, MutationFailed or ProviderConflict
	}
	if err := r.syncStatusUp(ctx, src, obj, copied, owner, events); err != nil {
		return err
	}
	return r.syncRelated(ctx, relatedSides{
		source: src, destination: r.Destination,
		sourceNamespace: obj.GetNamespace(), destinationNamespace: copied.GetNamespace(),
		sourcePrimary: obj, destinationPrimary: copied,
	}, owner, events)
}

// announce tells the consumer that the provider took the object on (Accepted) and that its copy
// exists (Placed). Both usually happen in the first pass; one event then says both, because every
// event is a write to kcp, and on a busy fleet events were most of the agent's writes.
func announce(events record.EventRecorder, obj *unstructured.Unstructured, accepted, created bool) {
	switch {
	case created && accepted:
		events.Event(obj, corev1.EventTypeNormal, "Placed", "the provider accepted the object and placed it for provisioning")
	case created:
		events.Event(obj, corev1.EventTypeNormal, "Placed", "the object was handed to the provider")
	case accepted:
		events.Event(obj, corev1.EventTypeNormal, "Accepted", "the provider accepted the object and will sync it")
	}
}

// ErrBlocked is returned (possibly wrapped) by Reconcile when an object cannot be synced until
// something outside it changes: the copy's name is taken (ProviderConflict, RelatedConflict), or
// naming or a mutation failed (NamingFailed, MutationFailed, RelatedMutationFailed). The consumer
// has been told by that Warning event, so it is not reported again as SyncFailed. Nothing tells
// the engine when the cause goes away (an object that takes the name carries no marks that lead
// back to the consumer's object), so the caller retries with a bounded backoff.
var ErrBlocked = errors.New("the object cannot be synced until the cause of its Warning event is removed")

// reportFailure tells the consumer that a sync failed (the agent retries with backoff; the event
// recorder folds repeats) and passes the error on. ErrBlocked has had its own event already.
func reportFailure(events record.EventRecorder, obj *unstructured.Unstructured, err error) error {
	if err != nil && !errors.Is(err, ErrBlocked) {
		events.Event(obj, corev1.EventTypeWarning, "SyncFailed", "the provider could not sync the object and will retry: "+err.Error())
	}
	return err
}

// selected applies the resource and namespace filters.
func (r *Reconciler) selected(ctx context.Context, src client.Client, obj *unstructured.Unstructured) (bool, error) {
	if r.ResourceSelector != nil && !r.ResourceSelector.Matches(labels.Set(obj.GetLabels())) {
		return false, nil
	}
	if r.NamespaceSelector == nil || obj.GetNamespace() == "" {
		return true, nil
	}
	ns := &corev1.Namespace{}
	if err := src.Get(ctx, client.ObjectKey{Name: obj.GetNamespace()}, ns); err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", obj.GetNamespace(), err)
	}
	return r.NamespaceSelector.Matches(labels.Set(ns.Labels)), nil
}

// data is what naming and mutation templates see.
func data(cluster string, obj *unstructured.Unstructured) templating.Data {
	return templating.Data{ClusterName: cluster, Object: obj.Object}
}

// syncDown creates or updates the copy and says whether it created it; it returns a nil copy when
// the copy cannot be written (a conflict, reported as an event on the source object).
func (r *Reconciler) syncDown(ctx context.Context, obj *unstructured.Unstructured, owner Owner, events record.EventRecorder) (copied *unstructured.Unstructured, created bool, err error) {
	d := data(owner.Source.Cluster, obj)
	namespace, name, err := r.Namer.Locate(d, !r.Kinds.DestinationNamespaced)
	if err != nil {
		events.Event(obj, corev1.EventTypeWarning, "NamingFailed", err.Error())
		return nil, false, nil
	}
	desired, err := DesiredCopy(obj, CopySpec{
		GVK: r.Kinds.Destination, Namespace: namespace, Name: name, Owner: owner, Mutation: r.SpecMutation, Data: d,
	})
	if err != nil {
		events.Event(obj, corev1.EventTypeWarning, "MutationFailed", err.Error())
		return nil, false, nil
	}
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(r.Kinds.Destination)
	err = r.Destination.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, existing)
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return nil, false, fmt.Errorf("reading the copy: %w", err)
	}
	markApplied(desired)
	verdict, message := Decide(objectOrNil(existing), owner)
	switch verdict {
	case Create:
		if err := r.ensureNamespace(ctx, namespace); err != nil {
			return nil, false, err
		}
	case Update:
		if upToDate(existing, desired) {
			r.count(outcomeUnchanged)
			return existing, false, nil // most reconciles (status changes, resyncs) write nothing
		}
	default:
		r.count(outcomeConflict)
		events.Event(obj, corev1.EventTypeWarning, "ProviderConflict", message)
		log.FromContext(ctx).Info("not syncing: the target is taken", "reason", message, "namespace", namespace, "name", name)
		return nil, false, nil
	}
	if err := r.Destination.Patch(ctx, desired, client.Apply, client.FieldOwner(r.fieldManager()), client.ForceOwnership); err != nil {
		return nil, false, fmt.Errorf("applying the copy: %w", err)
	}
	if verdict == Create {
		r.count(outcomeCreated)
	} else {
		r.count(outcomeUpdated)
	}
	return desired, verdict == Create, nil
}

// objectOrNil keeps a nil pointer from becoming a non-nil interface.
func objectOrNil(obj *unstructured.Unstructured) metav1.Object {
	if obj == nil {
		return nil
	}
	return obj
}

// ensureNamespace creates the copy's namespace if needed.
func (r *Reconciler) ensureNamespace(ctx context.Context, namespace string) error {
	if namespace == "" {
		return nil
	}
	ns := &corev1.Namespace{}
	if err := r.Destination.Get(ctx, client.ObjectKey{Name: namespace}, ns); err == nil {
		return nil
	}
	ns.Name = namespace
	ns.Labels = map[string]string{AgentLabel: r.Agent}
	if err := r.Destination.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s for the copy: %w", namespace, err)
	}
	return nil
}

// syncStatusUp copies the copy's status (after the status mutation) to the source object.
func (r *Reconciler) syncStatusUp(ctx context.Context, src client.Client, obj, copied *unstructured.Unstructured, owner Owner, events record.EventRecorder) error {
	if !r.Kinds.CopiesStatus {
		return nil
	}
	status, found, err := StatusUp(copied, r.StatusMutation, data(owner.Source.Cluster, obj))
	if err != nil || !found {
		return err
	}
	current, _, _ := unstructured.NestedMap(obj.Object, "status")
	if equality.Semantic.DeepEqual(current, status) {
		return nil
	}
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Object["status"] = status
	if err := src.Status().Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("writing status back: %w", err)
	}
	if current == nil {
		events.Event(obj, corev1.EventTypeNormal, "Synced", "the provider reported the object's status")
	}
	return nil
}

// release deletes the copy and, once it is gone, removes the finalizer.
func (r *Reconciler) release(ctx context.Context, src client.Client, obj *unstructured.Unstructured, source Source) (time.Duration, error) {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return 0, nil
	}
	gone, err := r.deleteCopy(ctx, source)
	if err != nil {
		return 0, err
	}
	relatedGone, err := r.deleteRelated(ctx, src, Owner{Agent: r.Agent, Source: source})
	if err != nil {
		return 0, err
	}
	if !gone || !relatedGone {
		return retryDeletion, nil
	}
	patch := client.MergeFrom(obj.DeepCopy())
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := src.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		return 0, fmt.Errorf("removing finalizer: %w", err)
	}
	r.forgetRelated(source)
	return 0, nil
}

// deleteCopy deletes the agent's copies of a source object, found by their ownership label, and
// reports whether none is left.
func (r *Reconciler) deleteCopy(ctx context.Context, source Source) (bool, error) {
	copies := &unstructured.UnstructuredList{}
	copies.SetGroupVersionKind(r.Kinds.Destination.GroupVersion().WithKind(r.Kinds.Destination.Kind + "List"))
	owner := Owner{Agent: r.Agent, Source: source}
	if err := r.Destination.List(ctx, copies, client.MatchingLabels(owner.Labels())); err != nil {
		return false, fmt.Errorf("finding the copy: %w", err)
	}
	var errs []error
	for i := range copies.Items {
		copyObj := &copies.Items[i]
		if got, ok := OwnerOf(copyObj); !ok || got != owner {
			continue
		}
		if err := r.Destination.Delete(ctx, copyObj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		} else if err == nil {
			r.count(outcomeDeleted)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return false, fmt.Errorf("deleting the copy: %w", err)
	}
	return len(copies.Items) == 0, nil
}
