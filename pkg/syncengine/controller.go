package syncengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mccontroller "sigs.k8s.io/multicluster-runtime/pkg/controller"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"
)

// ControllerOptions configure the controller of one sync (NewController).
type ControllerOptions struct {
	// Name of the controller; unique in the process, since it names its metrics.
	Name string
	// Logger receives the controller's logs; each reconcile logs with the cluster, namespace
	// and name of its source object.
	Logger logr.Logger
	// DestinationCache serves the watches on copies and on destination-side related objects, and
	// should back the Reconciler's Destination client's reads. In namespace-scoped mode
	// (Reconciler.DestinationNamespace) it must be confined to that namespace.
	DestinationCache cache.Cache
	// ReconcileTimeout bounds one reconcile (default: one minute).
	ReconcileTimeout time.Duration
	// Workers is the number of concurrent reconciles across all source clusters (default 16).
	Workers int
}

// Defaults of ControllerOptions.
const (
	defaultReconcileTimeout = time.Minute
	defaultWorkers          = 16
)

// Backoff between the attempts to sync an object that is blocked (ErrBlocked): doubling from the
// base, capped, so that removing what blocks it lets the sync proceed on its own.
const (
	blockedRetryBase = time.Second
	blockedRetryMax  = 5 * time.Minute
	// quotaRetryMax caps the backoff of an object the destination's quota refused: room is made
	// by deleting objects, often in another cluster, which nothing announces here; a create
	// every half minute per waiting object is cheap, and the wait after making room short.
	quotaRetryMax = 30 * time.Second
)

// NewController builds the controller of one sync, without starting it: r runs for every object
// of r.Kinds.Source in every source cluster mgr engages, and again whenever something it depends
// on changes: its copy in the destination, the namespace whose labels a namespace filter reads,
// a related object on either side, or a related object's copy. The controller is unmanaged: the
// caller starts it (Start) and stops it with the context it starts it with, and engages it with
// the source clusters (Engage), so that a sync can be replaced while the process runs.
func NewController(mgr mcmanager.Manager, r *Reconciler, opts ControllerOptions) (mccontroller.Controller, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if opts.DestinationCache == nil {
		return nil, errors.New("the sync controller needs a cache of the destination cluster")
	}
	ctrl, err := mccontroller.NewUnmanaged(opts.Name, mgr, controllerOptions(r, opts))
	if err != nil {
		return nil, err
	}
	w := watches{ctrl: ctrl, r: r, destination: opts.DestinationCache, log: opts.Logger}
	if err := w.all(); err != nil {
		return nil, fmt.Errorf("setting up the watches of %s: %w", opts.Name, err)
	}
	return ctrl, nil
}

// Backoff between the starts of a sync controller that failed (the syncagent's and the
// konnector's units): doubling from the base, capped.
const (
	restartBase = 2 * time.Second
	restartMax  = 5 * time.Minute
)

// RestartBackoff is how long to wait before starting a sync controller that failed failures
// times in a row.
func RestartBackoff(failures int) time.Duration {
	d := restartBase
	for i := 1; i < failures && d < restartMax; i++ {
		d *= 2
	}
	return min(d, restartMax)
}

// validate checks what the engine cannot work without.
func (r *Reconciler) validate() error {
	var errs []error
	if r.Sources == nil || r.Destination == nil || r.Namer == nil {
		errs = append(errs, errors.New("the sync needs source clusters, a destination client and a namer"))
	}
	if err := ValidateAgentName(r.Agent); err != nil {
		errs = append(errs, err)
	}
	if r.DestinationNamespace != "" && !r.Kinds.DestinationNamespaced {
		errs = append(errs, fmt.Errorf("%s is cluster-scoped in the destination: it cannot be synced into namespace %s", r.Kinds.Destination.GroupKind(), r.DestinationNamespace))
	}
	for _, rel := range r.Related {
		if r.DestinationNamespace != "" && rel.Origin == FromDestination && rel.NamespaceTemplate != nil {
			errs = append(errs, fmt.Errorf("related %s: its originals are in another destination namespace, but the sync is confined to namespace %s", rel.Identifier, r.DestinationNamespace))
		}
	}
	return errors.Join(errs...)
}

// controllerOptions maps a sync's options onto multicluster-runtime's.
func controllerOptions(r *Reconciler, opts ControllerOptions) mccontroller.Options {
	if opts.ReconcileTimeout == 0 {
		opts.ReconcileTimeout = defaultReconcileTimeout
	}
	if opts.Workers == 0 {
		opts.Workers = defaultWorkers
	}
	log := opts.Logger
	skipNameValidation := true // a replaced sync's controller takes over its name
	return mccontroller.Options{
		Logger: log,
		LogConstructor: func(req *mcreconcile.Request) logr.Logger {
			if req == nil {
				return log
			}
			return log.WithValues("cluster", req.ClusterName, "namespace", req.Namespace, "name", req.Name)
		},
		// Reads through a cache wait for its informer to sync; one whose list keeps failing (a
		// permission the source did not grant, a missing RBAC rule) would hold a worker for ever.
		ReconciliationTimeout:   opts.ReconcileTimeout,
		Reconciler:              retryBlocked(r),
		MaxConcurrentReconciles: opts.Workers,
		SkipNameValidation:      &skipNameValidation,
	}
}

// retryBlocked runs r for a request; a blocked object (the user was told by an event, and nothing
// announces that the cause is gone) comes back with a bounded backoff.
func retryBlocked(r *Reconciler) reconcile.TypedReconciler[mcreconcile.Request] {
	blocked := workqueue.NewTypedItemExponentialFailureRateLimiter[mcreconcile.Request](blockedRetryBase, blockedRetryMax)
	quota := workqueue.NewTypedItemExponentialFailureRateLimiter[mcreconcile.Request](blockedRetryBase, quotaRetryMax)
	return reconcile.TypedFunc[mcreconcile.Request](func(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
		after, err := r.Reconcile(ctx, req.ClusterName.String(), req.NamespacedName)
		if errors.Is(err, errQuotaExceeded) {
			return reconcile.Result{RequeueAfter: quota.When(req)}, nil
		}
		if errors.Is(err, ErrBlocked) {
			return reconcile.Result{RequeueAfter: blocked.When(req)}, nil
		}
		if err == nil {
			blocked.Forget(req)
			quota.Forget(req)
		}
		return reconcile.Result{RequeueAfter: after}, err
	})
}

// CachedKinds are the destination-side kinds the sync reads from the destination cache: copies
// and related objects. A caller that wants a missing permission reported before the controller
// starts (rather than as reconciles that wait on a cache) lists them first.
func (r *Reconciler) CachedKinds() []schema.GroupVersionKind {
	kinds := []schema.GroupVersionKind{r.Kinds.Destination}
	for _, rel := range r.Related {
		if !slices.Contains(kinds, rel.DestinationGVK) {
			kinds = append(kinds, rel.DestinationGVK)
		}
	}
	return kinds
}

func requestsFor(sources []Source) []mcreconcile.Request {
	out := make([]mcreconcile.Request, 0, len(sources))
	for _, s := range sources {
		out = append(out, requestFor(s))
	}
	return out
}

func requestFor(source Source) mcreconcile.Request {
	return mcreconcile.Request{
		ClusterName: multicluster.ClusterName(source.Cluster),
		Request:     reconcile.Request{NamespacedName: client.ObjectKey{Namespace: source.Namespace, Name: source.Name}},
	}
}

func listKind(gvk schema.GroupVersionKind) schema.GroupVersionKind {
	return gvk.GroupVersion().WithKind(gvk.Kind + "List")
}
