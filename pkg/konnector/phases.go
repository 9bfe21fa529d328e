package konnector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// startSession starts the connection's cache and heartbeat (once) and waits until the cache
// holds the namespace's BoundAPIs. The heartbeat goes into the status and, when renewing the
// Lease fails, into the Connected message: the provider then shows this cluster as disconnected.
func (r *Reconciler) startSession(ctx context.Context, p *pass, conn *connection) error {
	b := p.binding
	conn.start(r.connectionOptions())
	waitCtx, cancel := context.WithTimeout(ctx, cacheWaitTimeout)
	defer cancel()
	if err := conn.watchBoundAPIs(waitCtx, r.notify); err != nil {
		p.set(metav1.Condition{
			Type: bindv1alpha1.BindingConditionConnected, ObservedGeneration: b.Generation, Status: metav1.ConditionFalse,
			Reason:  bindv1alpha1.BindingReasonProviderUnreachable,
			Message: "the provider answers the credential, but its BoundAPIs cannot be watched (retrying): " + err.Error(),
		})
		return fmt.Errorf("ServiceBinding %s: %w", b.Name, err)
	}
	beat := conn.lastHeartbeat()
	if recorded := p.status.LastHeartbeatTime; !beat.last.IsZero() && (recorded == nil || beat.last.Sub(recorded.Time) >= heartbeatResolution) {
		p.status.LastHeartbeatTime = &metav1.Time{Time: beat.last.Truncate(time.Second)}
	}
	if beat.err != nil {
		cond := connectedCondition(b, nil)
		cond.Message += "; but renewing the heartbeat Lease fails, so the provider shows this cluster as disconnected: " + beat.err.Error()
		p.set(cond)
	}
	p.after(heartbeatResolution)
	return nil
}

// syncSchemas is the schema phase: it installs the CRD of every BoundAPI of the binding's
// Service and reports SchemaInSync. It returns the BoundAPIs, sorted by name, with what
// installing each gave.
func (r *Reconciler) syncSchemas(ctx context.Context, p *pass, conn *connection) ([]schemaResult, []*bindv1alpha1.BoundAPI, error) {
	b := p.binding
	list := &bindv1alpha1.BoundAPIList{}
	if err := conn.cached.List(ctx, list, client.InNamespace(conn.namespace)); err != nil {
		return nil, nil, fmt.Errorf("listing the BoundAPIs of ServiceBinding %s in namespace %s: %w", b.Name, conn.namespace, err)
	}
	apis := ofService(list.Items, b.Spec.Service)
	results := make([]schemaResult, 0, len(apis))
	for _, api := range apis {
		res := schemaResult{boundAPI: api.Name}
		crd, err := receivedCRD(api, b.Spec.Group, b.Name)
		if err == nil {
			res.crd, err = installCRD(ctx, r.Client, crd, b.Name)
		}
		res.err = err
		results = append(results, res)
	}
	p.set(schemaCondition(b, results))
	return results, apis, nil
}

// ofService picks the BoundAPIs of one Service, sorted by name: two Services bound by the same
// user into this cluster share the Consumer, and so its namespace.
func ofService(items []bindv1alpha1.BoundAPI, service string) []*bindv1alpha1.BoundAPI {
	var apis []*bindv1alpha1.BoundAPI
	for i := range items {
		if items[i].Spec.Service == service {
			apis = append(apis, &items[i])
		}
	}
	slices.SortFunc(apis, func(a, b *bindv1alpha1.BoundAPI) int { return strings.Compare(a.Name, b.Name) })
	return apis
}

// syncUnits is the units phase: one sync controller per BoundAPI whose CRD is installed, the
// units of BoundAPIs that are gone stopped and their kinds released. It reports Synced and
// status.resources.
func (r *Reconciler) syncUnits(ctx context.Context, p *pass, conn *connection, apis []*bindv1alpha1.BoundAPI, results []schemaResult) error {
	b := p.binding
	keep := map[string]bool{}
	var statuses []unitStatus
	var waiting []string
	for i, api := range apis {
		keep[api.Name] = true
		cfg := configFor(api, agentName(b.Name), b.Spec.Group)
		if results[i].err != nil || !results[i].crd.established {
			waiting = append(waiting, cfg.Kinds.Source.GroupKind().String())
			continue
		}
		st := conn.units.ensure(cfg)
		statuses = append(statuses, st)
		p.after(st.retryIn)
	}
	conn.units.retain(keep)
	if sc := findCondition(p.status.Conditions, bindv1alpha1.BindingConditionSchemaInSync); sc != nil && sc.Reason == bindv1alpha1.BindingReasonServiceWithdrawn {
		p.set(notSyncing(b, bindv1alpha1.BindingReasonServiceWithdrawn, "the provider withdrew Service "+b.Spec.Service))
	} else {
		p.set(syncedCondition(b, statuses, waiting))
	}
	return r.updateResources(ctx, p, results)
}

// updateResources sets status.resources to the installed CRDs. A CRD that was received before
// and whose BoundAPI is gone (the provider stopped offering it) is released first: the engine's
// finalizer is removed from its objects, which stay. It stays listed until that succeeded.
func (r *Reconciler) updateResources(ctx context.Context, p *pass, results []schemaResult) error {
	current := map[string]bool{}
	var resources []bindv1alpha1.ReceivedResource
	for _, res := range results {
		if res.crd.resource.CRD == "" {
			return nil // a BoundAPI that does not decode might be any CRD: release nothing now
		}
		current[res.crd.resource.CRD] = true
		if res.err == nil {
			resources = append(resources, res.crd.resource)
		}
	}
	var errs []error
	for _, old := range p.status.Resources {
		if current[old.CRD] {
			continue
		}
		if err := r.releaseResource(ctx, old); err != nil {
			errs = append(errs, err)
			resources = append(resources, old)
			continue
		}
		r.Recorder.Eventf(p.binding, corev1.EventTypeNormal, "APIReleased", "the provider no longer offers %s: its sync stopped, its objects stay", old.CRD)
	}
	p.status.Resources = resources
	if len(errs) > 0 {
		return fmt.Errorf("ServiceBinding %s: %w", p.binding.Name, errors.Join(errs...))
	}
	return nil
}
