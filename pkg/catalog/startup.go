package catalog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
)

// The start-up pass removes the entries of exports that went away while no manager ran (an export
// deleted, its workspace deleted or no longer Ready). While running, the manager removes entries
// on events and on the 5 s recount; nothing sends an event for what happened while it was down.
//
// The danger is a manager that has not seen the whole fleet yet: the provider engages workspaces
// one by one as its LogicalCluster informer delivers them, so right after start "the workspace
// is not engaged" does not mean "the workspace is gone". The pass therefore waits first:
//
//  1. It lists the fleet's workspaces straight from kcp (Reconciler.Workspaces: a paginated LIST
//     of LogicalClusters at /clusters/*, filtered like the provider filters), not from a cache.
//  2. It waits until every workspace of that list is engaged and its cached APIExports and
//     APIBindings have synced, dropping workspaces that leave the fleet meanwhile (a fresh LIST
//     each second while some are missing). Until then the reconciler does not delete an entry
//     because its workspace is not engaged; it looks again after the recount interval.
//  3. Only then does it list the CatalogEntries and delete each one whose export is not in the
//     synced cache of an engaged workspace, or not listed any more. An entry whose workspace is
//     not engaged at this point belongs to a workspace that was not in the fleet at step 1 (or
//     left it since): by the manager's rules its entry goes, and it comes back if that
//     workspace becomes Ready.
//
// A valid entry is never deleted: its export is in a workspace that is Ready at step 1, hence
// engaged with a synced cache by step 3, where the export is found. The same readiness gates
// /readyz (Ready). The pass runs on the leader only, once per leadership (a replica that loses
// the lease exits).
type startup struct{ r *Reconciler }

// NeedLeaderElection makes the pass run on the leader only, like the controllers.
func (startup) NeedLeaderElection() bool { return true }

// Start runs the start-up pass, retrying failed steps with backoff until ctx ends.
func (s startup) Start(ctx context.Context) error {
	r := s.r
	log := r.Log.WithName("startup")
	begin := time.Now()
	if !retry(ctx, log.Info, "waiting for the fleet to be engaged", r.waitForFleet) {
		return nil
	}
	r.caughtUp.Store(true)
	log.Info("every workspace of the fleet is engaged", "after", time.Since(begin).Round(time.Millisecond).String())
	if !retry(ctx, log.Info, "pruning the catalog", r.prune) {
		return nil
	}
	r.ready.Store(true)
	log.Info("start-up pass done: the catalog is in sync", "after", time.Since(begin).Round(time.Millisecond).String())
	return nil
}

// Ready reports whether the start-up pass is done: the fleet is engaged, its caches have synced
// and the catalog holds no entry of an export that went away while no manager ran.
func (r *Reconciler) Ready() bool { return r.ready.Load() }

// retry runs step until it succeeds (true) or ctx ends (false), logging each failure.
func retry(ctx context.Context, logf func(string, ...any), what string, step func(context.Context) error) bool {
	backoff := wait.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: math.MaxInt32, Cap: 30 * time.Second}
	for {
		err := step(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		delay := backoff.Step()
		logf(what+" failed; retrying", "error", err.Error(), "in", delay.String())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
	}
}

// syncTimeout bounds the wait for a workspace's cache to sync.
const syncTimeout = 2 * time.Minute

// fleetPoll is how often waitForFleet looks again at workspaces that are not engaged yet.
var fleetPoll = time.Second

// waitForFleet waits until every workspace that kcp lists for the fleet now is engaged and its
// cache has synced, or has left the fleet (steps 1 and 2 above).
func (r *Reconciler) waitForFleet(ctx context.Context) error {
	if r.Workspaces == nil {
		return errors.New("no way to list the fleet's workspaces")
	}
	names, err := r.Workspaces(ctx)
	if err != nil {
		return fmt.Errorf("listing the fleet's workspaces: %w", err)
	}
	pending := map[multicluster.ClusterName]bool{}
	for _, name := range names {
		pending[name] = true
	}
	for polls := 0; ; polls++ {
		for name := range pending {
			synced, err := r.synced(ctx, name)
			if err != nil {
				return err
			}
			if synced {
				delete(pending, name)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if polls%10 == 9 {
			r.Log.Info("waiting for workspaces to be engaged", "pending", len(pending), "of", len(names))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(fleetPoll):
		}
		current, err := r.Workspaces(ctx)
		if err != nil {
			return fmt.Errorf("listing the fleet's workspaces: %w", err)
		}
		pending = stillPending(pending, current)
	}
}

// synced reports whether a workspace is engaged and its cache serves its APIExports and
// APIBindings (reads from the fleet's cache wait for the shared informers to sync).
func (r *Reconciler) synced(ctx context.Context, name multicluster.ClusterName) (bool, error) {
	cl, err := r.Clusters.GetCluster(ctx, name)
	if err != nil {
		return false, nil // not engaged yet
	}
	// Bounded: an informer whose list keeps failing never syncs; the error then shows in the log
	// and the pass tries again.
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	for _, list := range []client.ObjectList{&apisv1alpha2.APIExportList{}, &apisv1alpha2.APIBindingList{}} {
		if err := cl.GetCache().List(ctx, list, client.Limit(1)); err != nil {
			return false, fmt.Errorf("reading the cache of %s: %w", name, err)
		}
	}
	return true, nil
}

// stillPending keeps the pending workspaces that are still in the fleet.
func stillPending(pending map[multicluster.ClusterName]bool, current []multicluster.ClusterName) map[multicluster.ClusterName]bool {
	next := map[multicluster.ClusterName]bool{}
	for _, name := range current {
		if pending[name] {
			next[name] = true
		}
	}
	return next
}

// prune deletes the entries whose export is gone or unlisted (step 3 above), with the export's
// inventory if its workspace is still there. Entries whose name the manager would not have given
// them are not the manager's and stay.
func (r *Reconciler) prune(ctx context.Context) error {
	entries := &catalogv1alpha1.CatalogEntryList{}
	if err := r.Catalog.List(ctx, entries); err != nil {
		return fmt.Errorf("listing the catalog: %w", err)
	}
	var errs []error
	for i := range entries.Items {
		req, ok := requestOf(&entries.Items[i])
		if !ok {
			continue
		}
		cl, export, err := r.observe(ctx, req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if export != nil {
			continue
		}
		r.Log.Info("removing the catalog entry of an export that is gone", "entry", entries.Items[i].Name,
			"cluster", req.ClusterName, "export", req.Name, "workspaceEngaged", cl != nil)
		if err := r.remove(ctx, cl, req); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// requestOf returns the export an entry describes, if the entry is one the manager wrote.
func requestOf(entry *catalogv1alpha1.CatalogEntry) (mcreconcile.Request, bool) {
	cluster, name := entry.Spec.Export.Cluster, entry.Spec.Export.Name
	if cluster == "" || name == "" || entry.Name != EntryName(cluster, name) {
		return mcreconcile.Request{}, false
	}
	return mcreconcile.Request{
		ClusterName: multicluster.ClusterName(cluster),
		Request:     reconcile.Request{NamespacedName: types.NamespacedName{Name: name}},
	}, true
}
