package kubectlbindery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// waitPoll is how often bind looks at the ServiceBinding while it waits: often enough that the
// condition changes read as they happen, rarely enough to be no load.
const waitPoll = 500 * time.Millisecond

// watchedConditions are printed as they change while bind waits, in this order.
var watchedConditions = []string{
	bindv1alpha1.BindingConditionConnected, bindv1alpha1.BindingConditionSchemaInSync,
	bindv1alpha1.BindingConditionSynced, bindv1alpha1.BindingConditionReady,
}

// errBindingDeleted stops the wait when someone deletes the binding meanwhile.
var errBindingDeleted = errors.New("the ServiceBinding was deleted while bind waited for it")

// waitReady waits until the konnector reports the binding Ready for its current generation,
// printing the conditions as they change; after timeout it prints what the conditions say and
// what to look at.
func waitReady(ctx context.Context, c client.Client, p progress, binding *bindv1alpha1.ServiceBinding, timeout time.Duration, konnectorNamespace string) (*bindv1alpha1.ServiceBinding, error) {
	p.printf("Waiting up to %s for the konnector to make ServiceBinding %s Ready:", timeout, binding.Name)
	seen := map[string]metav1.Condition{}
	current := binding
	err := wait.PollUntilContextTimeout(ctx, waitPoll, timeout, true, func(ctx context.Context) (bool, error) {
		b := &bindv1alpha1.ServiceBinding{}
		err := c.Get(ctx, client.ObjectKeyFromObject(binding), b)
		if apierrors.IsNotFound(err) {
			return false, errBindingDeleted
		}
		if err != nil {
			return false, nil // the API server may be busy; the deadline bounds the retries
		}
		current = b
		for _, line := range conditionChanges(seen, b) {
			p.printf("  %s", line)
		}
		return isReady(b), nil
	})
	switch {
	case err == nil:
		p.printf("ServiceBinding %s is Ready.", binding.Name)
		return current, nil
	case errors.Is(err, errBindingDeleted):
		return nil, fmt.Errorf("%w: run bind again to bind %s", err, binding.Spec.Service)
	case ctx.Err() != nil:
		return current, ctx.Err()
	}
	for _, line := range notReadyReport(current, timeout, konnectorNamespace) {
		p.printf("%s", line)
	}
	return current, fmt.Errorf("ServiceBinding %s is not Ready after %s (what its conditions say is above)", binding.Name, timeout)
}

// conditionChanges returns a line for each watched condition that differs from what seen
// holds, and records it there.
func conditionChanges(seen map[string]metav1.Condition, b *bindv1alpha1.ServiceBinding) []string {
	var lines []string
	for _, t := range watchedConditions {
		cond := meta.FindStatusCondition(b.Status.Conditions, t)
		if cond == nil {
			continue
		}
		last, ok := seen[t]
		if ok && last.Status == cond.Status && last.Reason == cond.Reason && last.Message == cond.Message {
			continue
		}
		seen[t] = *cond
		lines = append(lines, describeCondition(*cond))
	}
	return lines
}

// describeCondition is "Type: Status (Reason): Message".
func describeCondition(cond metav1.Condition) string {
	line := fmt.Sprintf("%s: %s (%s)", cond.Type, cond.Status, cond.Reason)
	if cond.Message != "" {
		line += ": " + cond.Message
	}
	return line
}

// isReady reports whether Ready is True and describes the binding's current generation, by the
// status's observedGeneration or the condition's own.
func isReady(b *bindv1alpha1.ServiceBinding) bool {
	ready := meta.FindStatusCondition(b.Status.Conditions, bindv1alpha1.BindingConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		return false
	}
	return max(b.Status.ObservedGeneration, ready.ObservedGeneration) >= b.Generation
}

// notReadyReport says what each condition says and where to look next.
func notReadyReport(b *bindv1alpha1.ServiceBinding, timeout time.Duration, konnectorNamespace string) []string {
	lines := []string{fmt.Sprintf("ServiceBinding %s is not Ready after %s:", b.Name, timeout)}
	for _, t := range watchedConditions {
		if cond := meta.FindStatusCondition(b.Status.Conditions, t); cond != nil {
			lines = append(lines, "  "+describeCondition(*cond))
		} else {
			lines = append(lines, "  "+t+": not reported yet")
		}
	}
	if len(b.Status.Conditions) == 0 {
		lines = append(lines, "  No condition at all: the konnector has not seen the binding. Is it running?")
	} else if b.Status.ObservedGeneration < b.Generation {
		lines = append(lines, fmt.Sprintf("  The status describes generation %d; the binding is at generation %d.", b.Status.ObservedGeneration, b.Generation))
	}
	return append(lines,
		"Check: kubectl get servicebindings "+b.Name+" -o yaml",
		fmt.Sprintf("       kubectl -n %s get deployment %s", konnectorNamespace, konnectorName),
		fmt.Sprintf("       kubectl -n %s logs deployment/%s", konnectorNamespace, konnectorName),
		"The binding stays in place, and the konnector may still finish it: kubectl bindery bindings shows when.")
}

// printNextSteps lists the received APIs and how to start using them.
func printNextSteps(p progress, b *bindv1alpha1.ServiceBinding) {
	if len(b.Status.Resources) == 0 {
		p.printf("Next: kubectl get servicebindings %s -o yaml lists the APIs it received.", b.Name)
		return
	}
	p.printf("It received:")
	for _, r := range b.Status.Resources {
		p.printf("  %s (kind %s)", r.CRD, r.Kind)
	}
	first := b.Status.Resources[0]
	p.printf("Next steps:\n  kubectl get crd %s\n  kubectl explain %s\n  kubectl create -f my-%s.yaml   # an object of kind %s",
		first.CRD, first.CRD, strings.ToLower(first.Kind), first.Kind)
}
