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
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// SourceClusters gives access to the clusters that hold the source of truth: kcp workspaces for
// the syncagent, a consumer cluster for the konnector.
type SourceClusters interface {
	// Cluster returns a client for one source cluster and a recorder for events there.
	Cluster(ctx context.Context, name string) (client.Client, record.EventRecorder, error)
}

// ManagerSources are the clusters a multicluster manager engages, as SourceClusters: each with
// its (cached) client and an event recorder for component, passed through wrap (which may filter
// what is written; nil writes every event).
func ManagerSources(mgr mcmanager.Manager, component string, wrap func(record.EventRecorder) record.EventRecorder) SourceClusters {
	return managerSources{mgr: mgr, component: component, wrap: wrap}
}

type managerSources struct {
	mgr       mcmanager.Manager
	component string
	wrap      func(record.EventRecorder) record.EventRecorder
}

func (m managerSources) Cluster(ctx context.Context, name string) (client.Client, record.EventRecorder, error) {
	cl, err := m.mgr.GetCluster(ctx, multicluster.ClusterName(name))
	if err != nil {
		return nil, nil, err
	}
	events := cl.GetEventRecorderFor(m.component)
	if m.wrap != nil {
		events = m.wrap(events)
	}
	return cl.GetClient(), events, nil
}

// Kinds are the kinds on both sides of a sync.
type Kinds struct {
	Source, Destination   schema.GroupVersionKind
	DestinationNamespaced bool
	// CopiesStatus says that the destination kind has a status subresource, whose status flows
	// back to the source object.
	CopiesStatus bool
}

// Reconciler syncs one kind of object from source clusters into the destination cluster: spec,
// labels and annotations down; status up; deletion through a finalizer on the source object.
type Reconciler struct {
	Sources SourceClusters
	// Destination reads (through a cache, usually) and writes the destination cluster.
	Destination client.Client
	// DestinationNamespace, when set, confines the sync to one namespace of the destination:
	// every copy lands there (the Namer's namespace template is not used), and the engine never
	// lists, reads or creates anything outside it, so a Role in that namespace is all the
	// destination credential needs. Destination kinds must be namespaced then.
	DestinationNamespace string
	Agent                string
	Kinds                Kinds
	Namer                *Namer
	// SpecMutation and StatusMutation may be nil.
	SpecMutation, StatusMutation *mutation.Program
	// ResourceSelector and NamespaceSelector filter the source objects (nil: everything).
	ResourceSelector, NamespaceSelector labels.Selector
	// Related are the kinds of objects that travel with each synced object.
	Related []Related

	// index leads changes of related objects in other namespaces back to their primary objects.
	index relatedIndex
	// recent keeps a pass whose cache is behind the engine's own create from creating again.
	recent recentCreates
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
	if errors.Is(err, multicluster.ErrClusterNotFound) {
		// Not engaged, or not any more: retrying would retry for ever once the cluster is gone
		// for good (a deleted workspace, an unbound export). If it is engaged again, its objects
		// come back from the engagement's first list. Its copies stay where they are: the
		// provider's objects are never deleted for want of a source that might come back.
		log.FromContext(ctx).V(1).Info("dropping the request: the source cluster is not engaged", "cluster", cluster)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.Kinds.Source)
	if err := src.Get(ctx, key, obj); err != nil {
		if !apierrors.IsNotFound(err) {
			return 0, err
		}
		return 0, r.sourceGone(ctx, src, Source{Cluster: cluster, Kind: r.Kinds.Source.GroupKind(), Namespace: key.Namespace, Name: key.Name})
	}
	owner := Owner{Agent: r.Agent, Source: SourceOf(cluster, r.Kinds.Source.GroupKind(), obj)}

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
		if err := addFinalizer(ctx, src, obj); err != nil {
			return lookAgain(ctx, events, obj, err)
		}
		accepted = true
	}
	return lookAgain(ctx, events, obj, r.sync(ctx, src, obj, owner, events, accepted))
}

// errCacheBehind marks a write refused because what the engine read was older than the object:
// a cached read that had not caught up yet (with the engine's own last write, usually). It is no
// failure to report, only a reason to look again.
var errCacheBehind = errors.New("the object changed since it was read")

// retryCacheBehind is how soon a pass whose read was behind is repeated; the watch event of the
// newer object usually brings it back sooner.
const retryCacheBehind = time.Second

// lookAgain turns an err of a sync pass into Reconcile's result: a read that was behind means
// looking again soon, quietly; anything else is reported (reportFailure) and returned.
func lookAgain(ctx context.Context, events record.EventRecorder, obj *unstructured.Unstructured, err error) (time.Duration, error) {
	if errors.Is(err, errCacheBehind) {
		log.FromContext(ctx).V(1).Info("looking again: the read was behind", "reason", err.Error())
		return retryCacheBehind, nil
	}
	return 0, reportFailure(events, obj, err)
}

// sourceGone removes what is left of a source object that is gone without the Finalizer (it was
// removed by hand, or the object was released when its sync stopped and deleted afterwards): its
// copy and the copies of its related objects. Only copies whose marks name this sync's kind are
// removed: another sync's copy of a same-named object of another kind is never touched, and
// neither is a copy released to the provider (ReleasedAnnotation).
func (r *Reconciler) sourceGone(ctx context.Context, src client.Client, source Source) error {
	r.forgetRelated(source)
	if _, err := r.deleteCopy(ctx, source); err != nil {
		return err
	}
	_, err := r.deleteRelated(ctx, src, Owner{Agent: r.Agent, Source: source})
	return err
}

// addFinalizer adds Finalizer with an optimistic lock: obj may be a cached read that misses a
// finalizer another controller added a moment ago, and a patch of the whole list would drop it.
// A conflict is returned and retried with a fresh read.
func addFinalizer(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	patch := client.MergeFromWithOptions(obj.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(obj, Finalizer)
	if err := c.Patch(ctx, obj, patch); err != nil {
		if apierrors.IsConflict(err) {
			err = fmt.Errorf("%w: %w", errCacheBehind, err)
		}
		return fmt.Errorf("adding the finalizer %s: %w", Finalizer, err)
	}
	return nil
}

// removeFinalizer removes Finalizer and nothing else (ReleasePatch), whatever the other
// finalizers are by now.
func removeFinalizer(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	patch, ok := ReleasePatch(obj)
	if !ok {
		return nil
	}
	if err := c.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the finalizer %s: %w", Finalizer, err)
	}
	return nil
}

// sync moves spec down, status up and related objects across. accepted says that this pass
// added the finalizer, which the consumer learns of from an event when placing the copy is held up.
func (r *Reconciler) sync(ctx context.Context, src client.Client, obj *unstructured.Unstructured, owner Owner, events record.EventRecorder, accepted bool) error {
	copied, created, err := r.syncDown(ctx, obj, owner, events)
	r.announce(events, obj, accepted, created)
	var refused *refusal
	if errors.As(err, &refused) {
		return errors.Join(err, r.reportRefusal(ctx, src, obj, events, refused))
	}
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

// announce tells the consumer what happened to its object, in as few events as the story needs:
// every event is a write to the source cluster, and through kcp's virtual workspace an event costs
// about three requests, a fifth of all that an object's sync costs kcp. When nothing goes wrong the
// copy is created in the pass that accepts the object, and the one event is Synced, when the
// provider first reports status (syncStatusUp), or now for a kind without status. Accepted and
// Placed tell a story that was held up: accepted, but the copy cannot be placed yet (a warning
// says why); placed in a later pass (after being held up, or again after the copy was lost).
func (r *Reconciler) announce(events record.EventRecorder, obj *unstructured.Unstructured, accepted, created bool) {
	switch {
	case created && accepted && !r.Kinds.CopiesStatus:
		events.Event(obj, corev1.EventTypeNormal, "Synced", "the provider accepted the object and placed it for provisioning")
	case created && !accepted:
		events.Event(obj, corev1.EventTypeNormal, "Placed", "the object was handed to the provider")
	case accepted && !created:
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
	namespace, name, err := r.locate(d)
	if err != nil {
		events.Event(obj, corev1.EventTypeWarning, "NamingFailed", err.Error())
		return nil, false, nil
	}
	existing, err := r.findCopy(ctx, owner, namespace, name)
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		// A copy stays where it was placed: moving it would delete the provider's object and
		// create another (a new database, say), and leaving it would make two.
		namespace, name = existing.GetNamespace(), existing.GetName()
	} else if existing, err = r.getCopy(ctx, namespace, name); err != nil {
		return nil, false, err
	}
	desired, err := DesiredCopy(obj, CopySpec{
		GVK: r.Kinds.Destination, Namespace: namespace, Name: name, Owner: owner, Mutation: r.SpecMutation, Data: d,
	})
	if err == nil {
		err = r.pointReferencesAtCopies(desired, obj)
	}
	if err != nil {
		events.Event(obj, corev1.EventTypeWarning, "MutationFailed", err.Error())
		return nil, false, nil
	}
	markApplied(desired)
	return r.writeCopy(ctx, obj, existing, desired, owner, events)
}

// writeCopy writes desired over existing (nil: nothing there) if the marks allow it and something
// changed, and says whether it created the copy; a nil copy means a conflict, reported as an event
// on the source object.
func (r *Reconciler) writeCopy(ctx context.Context, obj, existing, desired *unstructured.Unstructured, owner Owner, events record.EventRecorder) (copied *unstructured.Unstructured, created bool, err error) {
	namespace, name := desired.GetNamespace(), desired.GetName()
	verdict, message := Decide(objectOrNil(existing), owner)
	switch verdict {
	case Create:
		if r.recent.has(owner.Source, time.Now()) {
			return nil, false, fmt.Errorf("%w: the copy %s was created moments ago, and the cache has not seen it yet", errCacheBehind, name)
		}
		if err := r.ensureNamespace(ctx, namespace); err != nil {
			return nil, false, err
		}
	case Update:
		r.recent.forget(owner.Source)
		if err := unrelease(ctx, r.Destination, existing); err != nil {
			return nil, false, err
		}
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
	if verdict == Update {
		if err := r.ownAsApplied(ctx, r.Destination, existing); err != nil {
			return nil, false, err
		}
	}
	if err := r.apply(ctx, r.Destination, desired, verdict == Create); err != nil {
		var refused *refusal
		if verdict == Create && errors.As(asRefusal(err, r.Kinds.Source.Kind), &refused) {
			r.count(outcomeRefused)
			return nil, false, refused
		}
		return nil, false, fmt.Errorf("applying the copy: %w", err)
	}
	if verdict == Create {
		r.recent.add(owner.Source, time.Now())
		r.count(outcomeCreated)
	} else {
		r.count(outcomeUpdated)
	}
	return desired, verdict == Create, nil
}

// locate says where the copy of a source object lands: where the Namer says, or in
// DestinationNamespace under the Namer's name (one source cluster per confined sync, so the name
// keeps the source objects of one cluster apart).
func (r *Reconciler) locate(d templating.Data) (namespace, name string, err error) {
	if r.DestinationNamespace == "" {
		return r.Namer.Locate(d, !r.Kinds.DestinationNamespaced)
	}
	name, err = r.Namer.Name(d, false)
	return r.DestinationNamespace, name, err
}

// inDestination confines a list in the destination to DestinationNamespace, if set.
func (r *Reconciler) inDestination() client.ListOption {
	return client.InNamespace(r.DestinationNamespace)
}

// getCopy reads the object at a copy's target; nil when there is none.
func (r *Reconciler) getCopy(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(r.Kinds.Destination)
	err := r.Destination.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, existing)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the copy: %w", err)
	}
	return existing, nil
}

// findCopy returns the copy of owner.Source wherever it is, or nil: first at its target (the
// usual case, one read), then by its ownership marks anywhere, so that a change of the naming
// rules (or a name template that reads a field which changed) never leaves a second copy behind.
func (r *Reconciler) findCopy(ctx context.Context, owner Owner, namespace, name string) (*unstructured.Unstructured, error) {
	atTarget, err := r.getCopy(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	if verdict, _ := Decide(objectOrNil(atTarget), owner); verdict == Update {
		return atTarget, nil
	}
	copies, err := r.listCopies(ctx, owner)
	if err != nil {
		return nil, err
	}
	for i := range copies {
		if got, ok := OwnerOf(&copies[i]); ok && got.Source.Is(owner.Source) {
			if atTarget == nil || atTarget.GetNamespace() != copies[i].GetNamespace() || atTarget.GetName() != copies[i].GetName() {
				log.FromContext(ctx).Info("the copy stays where it was placed; the naming rules now say elsewhere",
					"namespace", copies[i].GetNamespace(), "name", copies[i].GetName(), "targetNamespace", namespace, "targetName", name)
			}
			return &copies[i], nil
		}
	}
	return nil, nil
}

// listCopies lists the objects of the destination kind that carry owner's labels.
func (r *Reconciler) listCopies(ctx context.Context, owner Owner) ([]unstructured.Unstructured, error) {
	copies := &unstructured.UnstructuredList{}
	copies.SetGroupVersionKind(r.Kinds.Destination.GroupVersion().WithKind(r.Kinds.Destination.Kind + "List"))
	if err := r.Destination.List(ctx, copies, r.inDestination(), client.MatchingLabels(owner.Labels())); err != nil {
		return nil, fmt.Errorf("finding the copy: %w", err)
	}
	return copies.Items, nil
}

// apply writes desired. An update is a server-side apply. The first write of a copy is a create,
// which fails if anything is there by now: the cached read that found the target free may be
// behind, and a forced apply would take over an object that appeared meanwhile (the caller
// retries, and then sees the object: a conflict, reported).
func (r *Reconciler) apply(ctx context.Context, c client.Client, desired *unstructured.Unstructured, create bool) error {
	if !create {
		return c.Patch(ctx, desired, client.Apply, client.FieldOwner(r.fieldManager()), client.ForceOwnership)
	}
	created := desired.DeepCopy()
	if err := c.Create(ctx, created, client.FieldOwner(r.fieldManager())); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%w: %s %s exists in the target cluster, where the read found it free: %w", errCacheBehind, desired.GetKind(), desired.GetName(), err)
		}
		return err
	}
	// The create's field manager entry becomes the apply entry before the next update
	// (writeCopy), not now: most copies are never updated, and a write right after the create
	// would race the destination's operator, which answers new objects at once.
	return nil
}

// ownAsApplied turns the field manager entry of the engine's create (an Update) into its Apply
// entry, as kubectl does when it moves an object from client-side to server-side apply: left as
// it is, that entry would keep owning the fields of the first write, and a field the source drops
// later would never be removed from the copy. It runs before an update of the copy, once; the
// patch is guarded by the resourceVersion, and a lost race (errCacheBehind) is tried again at the
// next pass.
func (r *Reconciler) ownAsApplied(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(obj, sets.New(r.fieldManager()), r.fieldManager())
	if err != nil || patch == nil {
		return err
	}
	if err := c.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		if apierrors.IsConflict(err) {
			err = fmt.Errorf("%w: %w", errCacheBehind, err)
		}
		return fmt.Errorf("taking over the fields of the create as applied: %w", err)
	}
	return nil
}

// objectOrNil keeps a nil pointer from becoming a non-nil interface.
func objectOrNil(obj *unstructured.Unstructured) metav1.Object {
	if obj == nil {
		return nil
	}
	return obj
}

// ensureNamespace creates the copy's namespace if needed; DestinationNamespace is the caller's
// to provide.
func (r *Reconciler) ensureNamespace(ctx context.Context, namespace string) error {
	if namespace == "" || r.DestinationNamespace != "" {
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
	if err != nil {
		return err
	}
	if !found {
		// The copy exists, so what kept it from being placed is over.
		return setPlaced(ctx, src, obj, nil)
	}
	current, _, _ := unstructured.NestedMap(obj.Object, "status")
	if equality.Semantic.DeepEqual(current, status) {
		return nil
	}
	announceCarried(events, current, status, obj)
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
	if err := removeFinalizer(ctx, src, obj); err != nil {
		return 0, err
	}
	r.forgetRelated(source)
	return 0, nil
}

// deleteCopy deletes the agent's copies of a source object, found by their ownership marks, and
// reports whether none is left. A copy is deleted only when its marks name exactly this source,
// kind included, and it was not released to the provider.
func (r *Reconciler) deleteCopy(ctx context.Context, source Source) (bool, error) {
	r.recent.forget(source)
	owner := Owner{Agent: r.Agent, Source: source}
	copies, err := r.listCopies(ctx, owner)
	if err != nil {
		return false, err
	}
	var errs []error
	left := 0
	for i := range copies {
		copyObj := &copies[i]
		if got, ok := OwnerOf(copyObj); !ok || got != owner || released(copyObj) {
			continue
		}
		left++
		if err := r.Destination.Delete(ctx, copyObj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		} else if err == nil {
			r.count(outcomeDeleted)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return false, fmt.Errorf("deleting the copy: %w", err)
	}
	return left == 0, nil
}
