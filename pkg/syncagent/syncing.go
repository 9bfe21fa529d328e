package syncagent

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/publishing"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/syncspec"
	"github.com/bindery-dev/bindery/providers/apiexport"
)

// Reasons of the Synced condition.
const (
	ReasonSyncRunning          = "SyncRunning"
	ReasonWaitingForSchema     = publishing.ReasonWaitingForSchema
	ReasonSyncStarting         = publishing.ReasonSyncStarting
	ReasonSyncConfigInvalid    = "SyncConfigInvalid"
	ReasonSyncControllerFailed = "SyncControllerFailed"
)

// startingRecheck is how soon a PublishedResource whose sync controller is starting is looked at
// again, in case the notification that the start ended is lost.
const startingRecheck = 30 * time.Second

// syncController keeps one sync unit running per published, sync-enabled PublishedResource of
// the agent and reports it in the Synced condition.
type syncController struct {
	provider client.Client
	mapper   meta.RESTMapper
	units    *syncUnits
	sources  syncengine.SourceClusters
	agent    string
	// namespace is the agent's namespace: with agent, the identity status.agent records.
	namespace string
	selector  labels.Selector
	// release lets go of the consumers' objects when a PublishedResource's sync stops for good.
	release  *releaser
	recorder record.EventRecorder
	// endpoints reports the health of the export's virtual workspace per shard, for the
	// ConsumersReachable condition; health requeues every PublishedResource when it changes.
	endpoints func() []apiexport.EndpointHealth
	health    *healthNotifier
}

func (c *syncController) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("sync-units-"+c.agent).
		For(&syncagentv1alpha1.PublishedResource{}).
		Watches(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(c.forCRD)).
		// A sync controller that is running or failed brings its PublishedResource back.
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			c.units.setNotify(func(name string) { q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}) })
			if c.health != nil {
				c.health.setQueue(q, c.provider)
			}
			return nil
		})).
		Complete(c)
}

func (c *syncController) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pr := &syncagentv1alpha1.PublishedResource{}
	if err := c.provider.Get(ctx, req.NamespacedName, pr); err != nil {
		c.units.stop(req.Name)
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !c.selector.Matches(labels.Set(pr.Labels)) {
		// Not this agent's any more: another agent may take it over, so the consumers' objects
		// keep their finalizers; the PublishedResource is not held for this agent either.
		c.units.stop(pr.Name)
		return reconcile.Result{}, c.removeFinalizer(ctx, pr)
	}
	if done, err := c.standBack(ctx, pr); done {
		return reconcile.Result{}, err
	}
	if !pr.DeletionTimestamp.IsZero() || !publishing.SynchronizationEnabled(pr.Spec) {
		return reconcile.Result{}, c.stopForGood(ctx, pr)
	}
	if !meta.IsStatusConditionTrue(pr.Status.Conditions, syncagentv1alpha1.ConditionSchemaPublished) {
		// Objects keep syncing with the last good configuration until the spec is fixed.
		return reconcile.Result{}, c.setSynced(ctx, pr, metav1.ConditionFalse, ReasonWaitingForSchema,
			"the object sync follows once the schema is published (see the SchemaPublished condition)")
	}
	cfg, err := c.unitConfig(ctx, pr)
	if err != nil {
		return reconcile.Result{}, c.setSynced(ctx, pr, metav1.ConditionFalse, ReasonSyncConfigInvalid, err.Error())
	}
	// Before any consumer object gets a finalizer, the PublishedResource gets one: deleting it
	// then waits until the agent has released those objects.
	if err := c.addFinalizer(ctx, pr); err != nil {
		if apierrors.IsConflict(err) {
			return reconcile.Result{}, err // the publishing controller wrote meanwhile; try again
		}
		return reconcile.Result{}, errors.Join(err, c.setSynced(ctx, pr, metav1.ConditionFalse, ReasonSyncControllerFailed,
			fmt.Sprintf("adding the finalizer %s to the PublishedResource: %v", Finalizer(c.agent), err)))
	}
	unit, err := c.units.ensure(cfg)
	if err != nil {
		return reconcile.Result{}, err
	}
	switch unit.state {
	case unitStarting:
		// The condition changes once the controller runs or fails; the unit reports either.
		return reconcile.Result{RequeueAfter: startingRecheck}, c.reportStarting(ctx, pr, cfg)
	case unitFailed:
		return reconcile.Result{RequeueAfter: unit.retryIn}, c.setSynced(ctx, pr, metav1.ConditionFalse, ReasonSyncControllerFailed,
			fmt.Sprintf("the sync controller failed: %v; the agent starts it again with backoff", unit.err))
	}
	return reconcile.Result{}, c.setSynced(ctx, pr, metav1.ConditionTrue, ReasonSyncRunning,
		fmt.Sprintf("consumer objects of %s are synced into the provider cluster as %s",
			publishing.GroupKind(cfg.Kinds.Source.Kind, cfg.Kinds.Source.Group), publishing.GroupKind(cfg.Kinds.Destination.Kind, cfg.Kinds.Destination.Group)))
}

// Events on a PublishedResource whose sync stopped for good.
const (
	EventSyncStopped   = "SyncStopped"
	EventReleaseFailed = "ReleaseFailed"
)

// stopForGood stops the sync of a PublishedResource that is being deleted or whose sync is
// disabled. If the agent synced its objects (its finalizer is on the PublishedResource), it
// releases the consumers' objects from the sync finalizer, so that deleting one no longer waits
// for a sync that will not come, and then removes its finalizer. The copies in the provider
// cluster stay: the provider owns them from now on.
func (c *syncController) stopForGood(ctx context.Context, pr *syncagentv1alpha1.PublishedResource) error {
	kinds, ran := c.units.stop(pr.Name)
	if !controllerutil.ContainsFinalizer(pr, Finalizer(c.agent)) {
		return nil
	}
	kind := kinds.Source
	if !ran {
		// Not synced by this process (the agent restarted since): the kind consumers see.
		projected, ok := projectedKind(pr.Status.Projected)
		if !ok {
			return c.removeFinalizer(ctx, pr) // never published, so never synced
		}
		kind = projected
	}
	ctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	// Copies first: once a consumer object is let go of, its deletion no longer waits for the
	// agent, and a copy not yet marked released would be deleted by a later sync of the kind.
	if err := c.markCopiesReleased(ctx, pr, kinds, ran); err != nil {
		c.recorder.Event(pr, corev1.EventTypeWarning, EventReleaseFailed, err.Error()+"; the agent retries")
		return err
	}
	result, err := c.release.release(ctx, kind)
	why := "synchronization is disabled"
	if !pr.DeletionTimestamp.IsZero() {
		why = "the PublishedResource is being deleted"
	}
	if err != nil {
		c.recorder.Event(pr, corev1.EventTypeWarning, EventReleaseFailed, fmt.Sprintf(
			"%s, but releasing the consumers' %s objects from the finalizer %s failed (released %d so far); the agent retries: %v",
			why, kind.Kind, syncengine.Finalizer, result.objects, err))
		return fmt.Errorf("releasing the consumers' objects of %s: %w", kind.GroupKind(), err)
	}
	log.FromContext(ctx).Info("sync stopped for good; released the consumers' objects, their copies stay in the provider cluster",
		"publishedResource", pr.Name, "reason", why, "kind", kind.GroupKind().String(),
		"released", result.objects, "workspaces", len(result.workspaces), "copies", syncengine.AgentLabel+"="+c.agent)
	c.recorder.Event(pr, corev1.EventTypeNormal, EventSyncStopped, fmt.Sprintf(
		"%s: the agent released %d consumer objects of %s in %d workspaces from the finalizer %s; their copies stay in the provider cluster (label %s=%s)",
		why, result.objects, kind.Kind, len(result.workspaces), syncengine.Finalizer, syncengine.AgentLabel, c.agent))
	return c.removeFinalizer(ctx, pr)
}

// markCopiesReleased marks the provider-side copies of a PublishedResource's objects released
// (syncengine.MarkReleased), so that no later sync of the kind deletes them once their consumer
// objects are gone. kinds are the unit's when it ran in this process; otherwise they are read
// from the CRD (without it there are no copies).
func (c *syncController) markCopiesReleased(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, kinds syncengine.Kinds, ran bool) error {
	source, destination := kinds.Source.GroupKind(), kinds.Destination
	if !ran {
		crd, err := publishing.FindCRD(ctx, c.provider, pr.Spec.Resource)
		if errors.Is(err, publishing.ErrNoCRD) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("finding the copies to release: %w", err)
		}
		found, err := publishing.KindsFor(crd, pr.Spec)
		if err != nil {
			return fmt.Errorf("finding the copies to release: %w", err)
		}
		source, destination = found.Consumer.GroupKind(), found.Provider
	}
	marked, err := syncengine.MarkReleased(ctx, c.provider, c.agent, source, destination)
	if err != nil {
		return fmt.Errorf("marking the provider's copies released (%d so far): %w", marked, err)
	}
	return nil
}

// releaseTimeout bounds one attempt to release the consumers' objects of a kind.
const releaseTimeout = 5 * time.Minute

func (c *syncController) addFinalizer(ctx context.Context, pr *syncagentv1alpha1.PublishedResource) error {
	if controllerutil.ContainsFinalizer(pr, Finalizer(c.agent)) {
		return nil
	}
	patch := client.MergeFromWithOptions(pr.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(pr, Finalizer(c.agent))
	return c.provider.Patch(ctx, pr, patch)
}

func (c *syncController) removeFinalizer(ctx context.Context, pr *syncagentv1alpha1.PublishedResource) error {
	if !controllerutil.ContainsFinalizer(pr, Finalizer(c.agent)) {
		return nil
	}
	patch := client.MergeFromWithOptions(pr.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(pr, Finalizer(c.agent))
	if err := c.provider.Patch(ctx, pr, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the finalizer %s: %w", Finalizer(c.agent), err)
	}
	return nil
}

// unitConfig compiles the sync configuration of a PublishedResource (syncspec.Compile): the
// consumer's workspaces are the source, the provider cluster the destination, and related
// resources resolve to the kinds the provider cluster serves.
func (c *syncController) unitConfig(ctx context.Context, pr *syncagentv1alpha1.PublishedResource) (unitConfig, error) {
	crd, err := publishing.FindCRD(ctx, c.provider, pr.Spec.Resource)
	if err != nil {
		return unitConfig{}, err
	}
	compiled, err := syncspec.Compile(crd, pr.Spec, c.mapper.KindFor)
	if err != nil {
		return unitConfig{}, err
	}
	r := &syncengine.Reconciler{Sources: c.sources, Destination: c.provider, Agent: c.agent}
	compiled.Apply(r)
	return unitConfig{Name: pr.Name, Kinds: r.Kinds, Spec: pr.Spec, Reconciler: r}, nil
}

func (c *syncController) forCRD(ctx context.Context, obj client.Object) []reconcile.Request {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok {
		return nil
	}
	prs := &syncagentv1alpha1.PublishedResourceList{}
	if err := c.provider.List(ctx, prs, client.MatchingLabelsSelector{Selector: c.selector}); err != nil {
		return nil
	}
	var requests []reconcile.Request
	for _, pr := range prs.Items {
		if pr.Spec.Resource.APIGroup == crd.Spec.Group && pr.Spec.Resource.Kind == crd.Spec.Names.Kind {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pr)})
		}
	}
	return requests
}

// reportStarting says that the sync controller is starting, in place of a Synced condition that
// still waits for the schema (or is missing). Any other condition stays until the controller runs
// or fails: a restart after a failure, or a replacement after an edit, must not make Synced and
// Ready flap on the way.
func (c *syncController) reportStarting(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, cfg unitConfig) error {
	if synced := meta.FindStatusCondition(pr.Status.Conditions, syncagentv1alpha1.ConditionSynced); synced != nil && synced.Reason != ReasonWaitingForSchema {
		return nil
	}
	return c.setSynced(ctx, pr, metav1.ConditionFalse, ReasonSyncStarting,
		fmt.Sprintf("the sync controller for %s is starting: it waits for the provider cluster's caches",
			publishing.GroupKind(cfg.Kinds.Source.Kind, cfg.Kinds.Source.Group)))
}

// setSynced writes the Synced condition, and Ready recomputed from it and SchemaPublished, with
// an optimistic lock, so that it never overwrites conditions the publishing controller wrote
// meanwhile (and so that Ready never follows a stale SchemaPublished).
func (c *syncController) setSynced(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, status metav1.ConditionStatus, reason, message string) error {
	before := pr.DeepCopy()
	meta.SetStatusCondition(&pr.Status.Conditions, metav1.Condition{
		Type: syncagentv1alpha1.ConditionSynced, Status: status, Reason: reason, Message: message, ObservedGeneration: pr.Generation,
	})
	if c.endpoints != nil {
		meta.SetStatusCondition(&pr.Status.Conditions, reachableCondition(c.endpoints(), pr.Generation))
	}
	previous, ready := publishing.SetReady(&pr.Status, pr.Generation)
	if equality.Semantic.DeepEqual(before.Status, pr.Status) {
		return nil
	}
	if err := c.provider.Status().Patch(ctx, pr, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	publishing.ReadyEvent(c.recorder, pr, previous, ready)
	return nil
}
