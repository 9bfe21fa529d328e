package konnector

import (
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// Reasons of a ServiceBinding's conditions that only the konnector sets, besides those of
// apis/bind/v1alpha1.
const (
	// ReasonPending: the condition cannot be decided yet (the provider has not been reached).
	ReasonPending = "Pending"
	// ReasonSchemaPending: the provider publishes no API yet, or a CRD is not established yet.
	ReasonSchemaPending = "SchemaPending"
	// ReasonSchemaInvalid: a published CRD cannot be decoded or installed.
	ReasonSchemaInvalid = "SchemaInvalid"
	// ReasonSyncStarting: a received API's sync is starting.
	ReasonSyncStarting = "SyncStarting"
)

// revokedMessage tells the user what a refused credential means and what to do.
func revokedMessage(backend string) string {
	return "the provider revoked this cluster's Consumer or the credential expired; bind again: kubectl bindery bind " + backend
}

// connectedCondition is the Connected condition for the answer to the probe (nil: it answered).
func connectedCondition(b *bindv1alpha1.ServiceBinding, err error) metav1.Condition {
	cond := metav1.Condition{Type: bindv1alpha1.BindingConditionConnected, ObservedGeneration: b.Generation}
	switch {
	case err == nil:
		cond.Status, cond.Reason = metav1.ConditionTrue, bindv1alpha1.BindingReasonConnected
		cond.Message = fmt.Sprintf("the provider answers the credential of Consumer %s (namespace %s)", b.Spec.Consumer, b.Spec.ProviderNamespace)
	case apierrors.IsUnauthorized(err):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, bindv1alpha1.BindingReasonRevoked, revokedMessage(b.Spec.Backend)
	default:
		cond.Status, cond.Reason = metav1.ConditionFalse, bindv1alpha1.BindingReasonProviderUnreachable
		cond.Message = "the provider cannot be reached (retrying with backoff; the sync keeps its last state): " + err.Error()
	}
	return cond
}

// credentialMissing is the Connected condition of a binding whose credential cannot be read.
func credentialMissing(b *bindv1alpha1.ServiceBinding, err error) metav1.Condition {
	return metav1.Condition{
		Type: bindv1alpha1.BindingConditionConnected, ObservedGeneration: b.Generation,
		Status: metav1.ConditionFalse, Reason: bindv1alpha1.BindingReasonCredentialMissing,
		Message: fmt.Sprintf("credential Secret %s/%s (key %q): %v", b.Spec.CredentialSecret.Namespace, b.Spec.CredentialSecret.Name,
			bindv1alpha1.CredentialKubeconfigKey, err),
	}
}

// schemaResult is what installing one BoundAPI's CRD gave.
type schemaResult struct {
	boundAPI string
	crd      installedCRD
	err      error
}

// schemaCondition is the SchemaInSync condition for the BoundAPIs of the binding's Service.
func schemaCondition(b *bindv1alpha1.ServiceBinding, results []schemaResult) metav1.Condition {
	cond := metav1.Condition{Type: bindv1alpha1.BindingConditionSchemaInSync, ObservedGeneration: b.Generation, Status: metav1.ConditionFalse}
	var conflicts, invalid, pending, installed []string
	for _, r := range results {
		switch {
		case errors.Is(r.err, errSchemaConflict):
			conflicts = append(conflicts, r.err.Error())
		case r.err != nil:
			invalid = append(invalid, r.err.Error())
		case !r.crd.established:
			pending = append(pending, fmt.Sprintf("CRD %s is not established: %s", r.crd.resource.CRD, r.crd.notEstablished))
		default:
			installed = append(installed, r.crd.resource.CRD)
		}
	}
	switch {
	case len(results) == 0 && withdrawn(b):
		cond.Reason, cond.Message = bindv1alpha1.BindingReasonServiceWithdrawn, withdrawnMessage(b)
	case len(results) == 0:
		cond.Reason = ReasonSchemaPending
		cond.Message = fmt.Sprintf("the provider publishes no API of Service %s in namespace %s yet", b.Spec.Service, b.Spec.ProviderNamespace)
	case len(conflicts) > 0:
		cond.Reason = bindv1alpha1.BindingReasonSchemaConflict
		cond.Message = strings.Join(conflicts, "; ") + " (another binding or tool owns it: remove it, or bind again with --group to receive the APIs under another group)"
	case len(invalid) > 0:
		cond.Reason, cond.Message = ReasonSchemaInvalid, strings.Join(invalid, "; ")
	case len(pending) > 0:
		cond.Reason, cond.Message = ReasonSchemaPending, strings.Join(pending, "; ")
	default:
		cond.Status, cond.Reason = metav1.ConditionTrue, bindv1alpha1.BindingReasonSchemaInstalled
		cond.Message = "installed as the provider publishes them: " + strings.Join(installed, ", ")
	}
	return cond
}

// withdrawn says whether the provider withdrew the binding's Service, given that it publishes
// none of its APIs: the binding received some before (they are still listed, until released),
// or said so already. A binding that never received an API is still waiting for them.
func withdrawn(b *bindv1alpha1.ServiceBinding) bool {
	if len(b.Status.Resources) > 0 {
		return true
	}
	cond := findCondition(b.Status.Conditions, bindv1alpha1.BindingConditionSchemaInSync)
	return cond != nil && cond.Reason == bindv1alpha1.BindingReasonServiceWithdrawn
}

// withdrawnMessage tells the user what a withdrawn Service means for their objects.
func withdrawnMessage(b *bindv1alpha1.ServiceBinding) string {
	return fmt.Sprintf("the provider withdrew Service %s: it publishes none of its APIs in namespace %s any more. "+
		"The sync stopped and your objects were released: they stay in this cluster, and their copies on the provider stay "+
		"until the provider removes them. If the provider offers the Service again, the sync resumes; otherwise "+
		"kubectl bindery unbind %s --objects=keep|delete", b.Spec.Service, b.Spec.ProviderNamespace, b.Name)
}

// syncedCondition is the Synced condition for the units of the received APIs; waiting lists the
// APIs whose CRD is not installed, which have no unit.
func syncedCondition(b *bindv1alpha1.ServiceBinding, units []unitStatus, waiting []string) metav1.Condition {
	cond := metav1.Condition{Type: bindv1alpha1.BindingConditionSynced, ObservedGeneration: b.Generation, Status: metav1.ConditionFalse}
	var running, starting, failed []string
	for _, u := range units {
		kind := u.kinds.Source.GroupKind().String()
		switch u.state {
		case unitRunning:
			running = append(running, fmt.Sprintf("%s into %s", kind, u.kinds.Destination.GroupKind()))
		case unitStarting:
			starting = append(starting, kind)
		default:
			failed = append(failed, failedUnit(kind, u))
		}
	}
	switch {
	case len(failed) > 0:
		cond.Reason, cond.Message = bindv1alpha1.BindingReasonSyncFailed, strings.Join(failed, "; ")
	case len(starting) > 0:
		cond.Reason, cond.Message = ReasonSyncStarting, "starting the sync of "+strings.Join(starting, ", ")
	case len(running) == 0:
		cond.Reason, cond.Message = ReasonPending, "no received API to sync yet"
	case len(waiting) > 0:
		cond.Reason = ReasonSyncStarting
		cond.Message = fmt.Sprintf("syncing %s; not %s until its CRD is installed", strings.Join(running, ", "), strings.Join(waiting, ", "))
	default:
		cond.Status, cond.Reason = metav1.ConditionTrue, bindv1alpha1.BindingReasonSyncRunning
		cond.Message = fmt.Sprintf("syncing %s in namespace %s", strings.Join(running, ", "), b.Spec.ProviderNamespace)
	}
	return cond
}

func failedUnit(kind string, u unitStatus) string {
	if u.retryIn <= 0 {
		return fmt.Sprintf("%s: %v", kind, u.err)
	}
	return fmt.Sprintf("%s: %v (retrying in %s)", kind, u.err, u.retryIn.Round(time.Second))
}

// notSyncing is the Synced condition of a binding whose sync is stopped (the credential was
// refused) or not started (the provider was never reached).
func notSyncing(b *bindv1alpha1.ServiceBinding, reason, why string) metav1.Condition {
	return metav1.Condition{
		Type: bindv1alpha1.BindingConditionSynced, ObservedGeneration: b.Generation,
		Status: metav1.ConditionFalse, Reason: reason, Message: "not syncing: " + why,
	}
}

// readyCondition is True when Connected, SchemaInSync and Synced are; otherwise it carries the
// reason and message of the first of them that is not.
func readyCondition(generation int64, conditions []metav1.Condition) metav1.Condition {
	ready := metav1.Condition{Type: bindv1alpha1.BindingConditionReady, ObservedGeneration: generation}
	for _, t := range []string{bindv1alpha1.BindingConditionConnected, bindv1alpha1.BindingConditionSchemaInSync, bindv1alpha1.BindingConditionSynced} {
		cond := findCondition(conditions, t)
		if cond == nil {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ReasonPending, t+" is not reported yet"
			return ready
		}
		if cond.Status != metav1.ConditionTrue {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, cond.Reason, t+": "+cond.Message
			return ready
		}
	}
	ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, bindv1alpha1.BindingReasonReady, "connected, schemas installed and the sync runs"
	return ready
}

func findCondition(conditions []metav1.Condition, t string) *metav1.Condition {
	for i := range conditions {
		if conditions[i].Type == t {
			return &conditions[i]
		}
	}
	return nil
}

// changedConditions returns the conditions of after whose status or reason differ from before's:
// each is worth an event. Ready is worth one only when its status changes: its reason is that of
// another condition, whose own event tells the story.
func changedConditions(before, after []metav1.Condition) []metav1.Condition {
	var changed []metav1.Condition
	for _, cond := range after {
		old := findCondition(before, cond.Type)
		switch {
		case old == nil || old.Status != cond.Status:
			changed = append(changed, cond)
		case old.Reason != cond.Reason && cond.Type != bindv1alpha1.BindingConditionReady:
			changed = append(changed, cond)
		}
	}
	return changed
}

// progressReasons are the reasons of a binding on its way: their events are Normal, not Warnings.
var progressReasons = map[string]bool{ReasonPending: true, ReasonSchemaPending: true, ReasonSyncStarting: true}

// eventType is the type of the event announcing cond: a Warning for a condition that is False
// because something is wrong, Normal for one that is True or still on its way.
func eventType(cond metav1.Condition) string {
	if cond.Status == metav1.ConditionTrue || progressReasons[cond.Reason] {
		return corev1.EventTypeNormal
	}
	return corev1.EventTypeWarning
}
