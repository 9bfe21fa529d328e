package kubectlbind

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/kubectlbindery"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestBindWaitsUntilReady plays the konnector: it reports the conditions one after the other
// while bind waits, and bind prints each change and, once Ready, the next steps.
func TestBindWaitsUntilReady(t *testing.T) {
	e := newEnv(t)
	out := &framework.SyncBuffer{}
	bind := e.consumerBind(e.response(), out, nil)
	bind.Wait = time.Minute
	done := e.runInBackground(bind)

	e.waitForOutput(out, "Waiting up to 1m0s")
	e.report(e.service, bindv1alpha1.BindingConditionConnected, metav1.ConditionTrue, bindv1alpha1.BindingReasonConnected, "")
	e.waitForOutput(out, "Connected: True (Connected)")
	e.report(e.service, bindv1alpha1.BindingConditionSchemaInSync, metav1.ConditionFalse, bindv1alpha1.BindingReasonSchemaConflict, "CRD databases."+e.group+" is someone else's")
	e.waitForOutput(out, "SchemaInSync: False (SchemaConflict): CRD databases."+e.group+" is someone else's")
	e.setStatus(e.service, func(b *bindv1alpha1.ServiceBinding) {
		b.Status.ObservedGeneration = b.Generation
		b.Status.Resources = []bindv1alpha1.ReceivedResource{{CRD: "databases." + e.group, Group: e.group, Resource: "databases", Kind: "Database"}}
		for _, c := range []string{bindv1alpha1.BindingConditionSchemaInSync, bindv1alpha1.BindingConditionSynced, bindv1alpha1.BindingConditionReady} {
			meta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{Type: c, Status: metav1.ConditionTrue, Reason: c, ObservedGeneration: b.Generation})
		}
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("bind: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("bind still waits 30 s after the binding became Ready:\n%s", out)
	}
	for _, want := range []string{
		"SchemaInSync: True (SchemaInSync)", "Synced: True (Synced)", "Ready: True (Ready)",
		"ServiceBinding " + e.service + " is Ready.", "databases." + e.group + " (kind Database)",
		"kubectl get crd databases." + e.group, "kubectl create -f my-database.yaml",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bind printed\n%s\nwithout %q", out, want)
		}
	}
}

// TestBindSaysWhatToCheckWhenNotReady: no konnector reports anything, so bind gives up after
// --wait with the conditions and where to look.
func TestBindSaysWhatToCheckWhenNotReady(t *testing.T) {
	e := newEnv(t)
	out := &framework.SyncBuffer{}
	bind := e.consumerBind(e.response(), out, nil)
	bind.Wait = 5 * time.Second
	done := e.runInBackground(bind)
	e.waitForOutput(out, "Waiting up to 5s")
	e.report(e.service, bindv1alpha1.BindingConditionConnected, metav1.ConditionFalse, bindv1alpha1.BindingReasonProviderUnreachable, "dial tcp 10.0.0.1:6443: connection refused")
	if err := <-done; err == nil || !strings.Contains(err.Error(), "is not Ready after 5s") {
		t.Fatalf("bind: %v, want it not Ready after 5s\n%s", err, out)
	}
	for _, want := range []string{
		"Connected: False (ProviderUnreachable): dial tcp 10.0.0.1:6443: connection refused",
		"Ready: not reported yet",
		"kubectl get servicebindings " + e.service + " -o yaml",
		"kubectl -n " + e.namespace + " logs deployment/bindery-konnector",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bind printed\n%s\nwithout %q", out, want)
		}
	}
}

// runInBackground runs bind while the test plays the konnector; the channel gets its error.
func (e *env) runInBackground(bind *kubectlbindery.ConsumerBind) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := bind.Run(e.ctx)
		done <- err
	}()
	return done
}

// report sets one condition of the binding as the konnector would.
func (e *env) report(binding, condition string, status metav1.ConditionStatus, reason, message string) {
	e.t.Helper()
	e.setStatus(binding, func(b *bindv1alpha1.ServiceBinding) {
		meta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{Type: condition, Status: status, Reason: reason, Message: message, ObservedGeneration: b.Generation})
	})
}

// waitForOutput waits until bind has printed want.
func (e *env) waitForOutput(out *framework.SyncBuffer, want string) {
	e.t.Helper()
	framework.WaitFor(e.t, 30*time.Second, "bind to print "+want, func(context.Context) (bool, string, error) {
		return strings.Contains(out.String(), want), out.String(), nil
	})
}
