package konnector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// Finalizer holds a ServiceBinding until the konnector has disconnected it and released the
// consumer's objects of its received kinds.
const Finalizer = "bind.bindery.dev/konnector"

// Timing of the reconciler.
const (
	// requestTimeout bounds one request to the provider (the probe, a token, the Lease).
	requestTimeout = 15 * time.Second
	// cacheWaitTimeout bounds the wait for a new connection's BoundAPIs.
	cacheWaitTimeout = 30 * time.Second
	// revokedRecheck is how often a binding whose credential was refused tries again: the
	// provider may restore the Consumer; a new bind writes the Secret, which brings it back at once.
	revokedRecheck = 5 * time.Minute
	// renewRetry is how soon a renewal that failed is tried again; the token in use is still good.
	renewRetry = time.Minute
)

// Reconciler keeps one connection per ServiceBinding of the consumer cluster and reports what
// it does in the binding's status. It is a manager Runnable too: connections and their units live
// in the manager's context, not in a reconcile's.
type Reconciler struct {
	// Client reads (cached) and writes the consumer cluster; APIReader lists without the cache.
	Client    client.Client
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  record.EventRecorder
	Log       logr.Logger
	// Holder is the heartbeat Lease's holderIdentity (the pod's or host's name).
	Holder            string
	HeartbeatInterval time.Duration
	// units are what the sync controllers of every connection share.
	units unitOptions

	queue atomic.Pointer[workqueue.TypedRateLimitingInterface[reconcile.Request]]

	mu          sync.Mutex
	runCtx      context.Context
	connections map[string]*connection
	states      bindingStates
}

// Start records the manager's context, in which connections run, and disconnects every binding
// when it ends.
func (r *Reconciler) Start(ctx context.Context) error {
	r.mu.Lock()
	r.runCtx = ctx
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	names := make([]string, 0, len(r.connections))
	for name := range r.connections {
		names = append(names, name)
	}
	r.mu.Unlock()
	for _, name := range names {
		r.disconnect(name)
	}
	return nil
}

// running returns the manager's context once Start has run.
func (r *Reconciler) running() (context.Context, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runCtx == nil {
		return nil, errors.New("the konnector is not running yet")
	}
	return r.runCtx, nil
}

// notify brings a binding back to the reconciler (a BoundAPI changed, a unit started or failed,
// the heartbeat started or stopped failing).
func (r *Reconciler) notify(binding string) {
	if q := r.queue.Load(); q != nil {
		(*q).Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: binding}})
	}
}

// pass is one reconcile of a binding: the status it builds and how soon to look again.
type pass struct {
	binding *bindv1alpha1.ServiceBinding
	status  *bindv1alpha1.ServiceBindingStatus
	requeue time.Duration
}

func (p *pass) set(cond metav1.Condition) { meta.SetStatusCondition(&p.status.Conditions, cond) }

// after asks for the binding to be looked at again within d.
func (p *pass) after(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

// setIfMissing sets cond unless the status has a condition of its type.
func (p *pass) setIfMissing(cond metav1.Condition) {
	if findCondition(p.status.Conditions, cond.Type) == nil {
		p.set(cond)
	}
}

// Reconcile connects a ServiceBinding, keeps its schemas and sync running, and reports.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &bindv1alpha1.ServiceBinding{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		if apierrors.IsNotFound(err) {
			r.disconnect(req.Name)
			r.states.forget(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading ServiceBinding %s: %w", req.Name, err)
	}
	if !b.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, b)
	}
	if err := r.ensureFinalizer(ctx, b); err != nil {
		return ctrl.Result{}, err
	}
	runCtx, err := r.running()
	if err != nil {
		return ctrl.Result{}, err
	}
	p := &pass{binding: b, status: b.Status.DeepCopy()}
	err = r.sync(ctx, runCtx, p)
	if reportErr := r.report(ctx, b, p); reportErr != nil || err != nil {
		return ctrl.Result{}, errors.Join(err, reportErr) // retried with backoff
	}
	return ctrl.Result{RequeueAfter: p.requeue}, nil
}

// sync runs the phases in order; each phase reports its condition, and a phase that cannot
// finish ends the pass (an error: retried with backoff).
func (r *Reconciler) sync(ctx, runCtx context.Context, p *pass) error {
	b := p.binding
	pending := metav1.Condition{Status: metav1.ConditionUnknown, Reason: ReasonPending, Message: "waiting for the connection to the provider", ObservedGeneration: b.Generation}
	for _, t := range []string{bindv1alpha1.BindingConditionSchemaInSync, bindv1alpha1.BindingConditionSynced} {
		pending.Type = t
		p.setIfMissing(pending)
	}
	conn, err := r.connect(ctx, runCtx, p)
	if conn == nil || err != nil {
		return err
	}
	if ok, err := r.probe(ctx, p, conn); !ok {
		return err
	}
	if ok := r.renewIfDue(ctx, p, conn); !ok {
		return nil
	}
	if err := r.startSession(ctx, p, conn); err != nil {
		return err
	}
	results, apis, err := r.syncSchemas(ctx, p, conn)
	if err != nil {
		return err
	}
	return r.syncUnits(ctx, p, conn, apis, results)
}

// report writes the status the pass built, with Ready, and records an event for every condition
// that changed.
func (r *Reconciler) report(ctx context.Context, b *bindv1alpha1.ServiceBinding, p *pass) error {
	st := p.status
	st.ObservedGeneration = b.Generation
	ready := readyCondition(b.Generation, st.Conditions)
	meta.SetStatusCondition(&st.Conditions, ready)
	r.states.observe(b.Name, ready.Reason)
	if equality.Semantic.DeepEqual(&b.Status, st) {
		return nil
	}
	before := b.Status.Conditions
	// The lock keeps a pass that read a binding older than the last write (a cache that has not
	// caught up) from announcing the same changes twice; the newer binding's watch event brings
	// it back at once.
	patch := client.MergeFromWithOptions(b.DeepCopy(), client.MergeFromWithOptimisticLock{})
	b.Status = *st
	if err := r.Client.Status().Patch(ctx, b, patch); err != nil {
		if apierrors.IsConflict(err) {
			return nil
		}
		return fmt.Errorf("writing the status of ServiceBinding %s: %w", b.Name, err)
	}
	for _, cond := range changedConditions(before, st.Conditions) {
		r.Recorder.Event(b, eventType(cond), cond.Reason, cond.Type+": "+cond.Message)
	}
	return nil
}

// ensureFinalizer adds Finalizer, with an optimistic lock so that a finalizer someone else added
// a moment ago (not in the cached read yet) is not dropped.
func (r *Reconciler) ensureFinalizer(ctx context.Context, b *bindv1alpha1.ServiceBinding) error {
	if controllerutil.ContainsFinalizer(b, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(b.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(b, Finalizer)
	if err := r.Client.Patch(ctx, b, patch); err != nil {
		return fmt.Errorf("adding the finalizer %s to ServiceBinding %s: %w", Finalizer, b.Name, err)
	}
	return nil
}

// disconnect stops a binding's connection and its units, if any, and returns the kinds they
// synced.
func (r *Reconciler) disconnect(binding string) []syncengine.Kinds {
	r.mu.Lock()
	conn, ok := r.connections[binding]
	delete(r.connections, binding)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	return conn.stop()
}

// agentName is the sync engine's agent name of a binding: the mark on its copies and their field
// manager. It is stable for the binding's name and a DNS label (at most 63 characters), however
// long the name.
func agentName(binding string) string { return templating.DNSLabel("konnector", binding) }
