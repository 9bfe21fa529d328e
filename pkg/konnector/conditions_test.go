package konnector

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
)

func testBinding() *bindv1alpha1.ServiceBinding {
	b := &bindv1alpha1.ServiceBinding{Spec: bindv1alpha1.ServiceBindingSpec{
		Backend: "https://bind.example.com", Service: "databases", Consumer: "alice-1234", ProviderNamespace: "bindery-alice-1234",
		CredentialSecret: bindv1alpha1.SecretReference{Namespace: "bindery-system", Name: "databases-credential"},
	}}
	b.Name, b.Generation = "databases", 3
	return b
}

func TestConnectedCondition(t *testing.T) {
	b := testBinding()
	gr := schema.GroupResource{Group: "bind.bindery.dev", Resource: "boundapis"}
	for _, tc := range []struct {
		err    error
		status metav1.ConditionStatus
		reason string
		says   string
	}{
		{nil, metav1.ConditionTrue, bindv1alpha1.BindingReasonConnected, "alice-1234"},
		{apierrors.NewUnauthorized("token expired"), metav1.ConditionFalse, bindv1alpha1.BindingReasonRevoked, "kubectl bindery bind https://bind.example.com"},
		{apierrors.NewServiceUnavailable("down"), metav1.ConditionFalse, bindv1alpha1.BindingReasonProviderUnreachable, "down"},
		{apierrors.NewForbidden(gr, "", errors.New("no")), metav1.ConditionFalse, bindv1alpha1.BindingReasonProviderUnreachable, "forbidden"},
	} {
		cond := connectedCondition(b, tc.err)
		if cond.Status != tc.status || cond.Reason != tc.reason || !strings.Contains(cond.Message, tc.says) || cond.ObservedGeneration != 3 {
			t.Errorf("%v: %s %s %q (generation %d), want %s %s saying %q", tc.err, cond.Status, cond.Reason, cond.Message, cond.ObservedGeneration, tc.status, tc.reason, tc.says)
		}
	}
	if cond := credentialMissing(b, errors.New(`secrets "databases-credential" not found`)); cond.Reason != bindv1alpha1.BindingReasonCredentialMissing ||
		!strings.Contains(cond.Message, "bindery-system/databases-credential") {
		t.Errorf("credential missing: %s %q, want the Secret named", cond.Reason, cond.Message)
	}
}

func installed(name string, established bool) installedCRD {
	return installedCRD{resource: bindv1alpha1.ReceivedResource{CRD: name}, established: established, notEstablished: "names pending"}
}

func TestSchemaCondition(t *testing.T) {
	b := testBinding()
	conflict := fmt.Errorf("%w: CRD widgets.example.com has no label", errSchemaConflict)
	for _, tc := range []struct {
		name    string
		results []schemaResult
		status  metav1.ConditionStatus
		reason  string
		says    string
	}{
		{"nothing published", nil, metav1.ConditionFalse, ReasonSchemaPending, "Service databases"},
		{"installed", []schemaResult{{crd: installed("databases.example.com", true)}, {crd: installed("backups.example.com", true)}},
			metav1.ConditionTrue, bindv1alpha1.BindingReasonSchemaInstalled, "databases.example.com, backups.example.com"},
		{"not established", []schemaResult{{crd: installed("databases.example.com", true)}, {crd: installed("backups.example.com", false)}},
			metav1.ConditionFalse, ReasonSchemaPending, "backups.example.com is not established: names pending"},
		{"conflict wins", []schemaResult{{crd: installed("a.example.com", false)}, {err: errors.New("decoding")}, {err: conflict}},
			metav1.ConditionFalse, bindv1alpha1.BindingReasonSchemaConflict, "widgets.example.com"},
		{"invalid", []schemaResult{{crd: installed("a.example.com", true)}, {err: errors.New("BoundAPI x: decoding spec.crd")}},
			metav1.ConditionFalse, ReasonSchemaInvalid, "BoundAPI x"},
	} {
		cond := schemaCondition(b, tc.results)
		if cond.Status != tc.status || cond.Reason != tc.reason || !strings.Contains(cond.Message, tc.says) {
			t.Errorf("%s: %s %s %q, want %s %s saying %q", tc.name, cond.Status, cond.Reason, cond.Message, tc.status, tc.reason, tc.says)
		}
	}
}

// A binding that received APIs and finds none of its Service's any more says the Service was
// withdrawn, and goes on saying so once the APIs are released; one that never received any waits.
func TestSchemaConditionOfAWithdrawnService(t *testing.T) {
	b := testBinding()
	if cond := schemaCondition(b, nil); cond.Reason != ReasonSchemaPending {
		t.Errorf("never received anything: %s, want %s", cond.Reason, ReasonSchemaPending)
	}
	b.Status.Resources = []bindv1alpha1.ReceivedResource{{CRD: "databases.example.com"}}
	cond := schemaCondition(b, nil)
	if cond.Status != metav1.ConditionFalse || cond.Reason != bindv1alpha1.BindingReasonServiceWithdrawn ||
		!strings.Contains(cond.Message, "withdrew Service databases") || !strings.Contains(cond.Message, "kubectl bindery unbind databases") {
		t.Errorf("received before: %s %s %q, want False %s naming the Service and unbind", cond.Status, cond.Reason, cond.Message, bindv1alpha1.BindingReasonServiceWithdrawn)
	}
	b.Status.Resources, b.Status.Conditions = nil, []metav1.Condition{cond}
	if again := schemaCondition(b, nil); again.Reason != bindv1alpha1.BindingReasonServiceWithdrawn {
		t.Errorf("released, said withdrawn before: %s, want %s", again.Reason, bindv1alpha1.BindingReasonServiceWithdrawn)
	}
	if back := schemaCondition(b, []schemaResult{{crd: installed("databases.example.com", true)}}); back.Reason != bindv1alpha1.BindingReasonSchemaInstalled {
		t.Errorf("offered again: %s, want %s", back.Reason, bindv1alpha1.BindingReasonSchemaInstalled)
	}
}

func kinds(source, destination string) syncengine.Kinds {
	return syncengine.Kinds{
		Source:      schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: source},
		Destination: schema.GroupVersionKind{Group: "provider.io", Version: "v1", Kind: destination},
	}
}

func TestSyncedCondition(t *testing.T) {
	b := testBinding()
	running := unitStatus{kinds: kinds("Database", "PostgresDB"), state: unitRunning}
	for _, tc := range []struct {
		name    string
		units   []unitStatus
		waiting []string
		status  metav1.ConditionStatus
		reason  string
		says    string
	}{
		{"running", []unitStatus{running}, nil, metav1.ConditionTrue, bindv1alpha1.BindingReasonSyncRunning, "Database.example.com into PostgresDB.provider.io"},
		{"starting", []unitStatus{running, {kinds: kinds("Backup", "Backup"), state: unitStarting}}, nil, metav1.ConditionFalse, ReasonSyncStarting, "Backup.example.com"},
		{"failed", []unitStatus{running, {kinds: kinds("Backup", "Backup"), state: unitFailed, err: errors.New("listing Backup: forbidden"), retryIn: 8 * time.Second}},
			nil, metav1.ConditionFalse, bindv1alpha1.BindingReasonSyncFailed, "Backup.example.com: listing Backup: forbidden (retrying in 8s)"},
		{"waiting for a CRD", []unitStatus{running}, []string{"Backup.example.com"}, metav1.ConditionFalse, ReasonSyncStarting, "not Backup.example.com until its CRD is installed"},
		{"nothing", nil, nil, metav1.ConditionFalse, ReasonPending, "no received API"},
	} {
		cond := syncedCondition(b, tc.units, tc.waiting)
		if cond.Status != tc.status || cond.Reason != tc.reason || !strings.Contains(cond.Message, tc.says) {
			t.Errorf("%s: %s %s %q, want %s %s saying %q", tc.name, cond.Status, cond.Reason, cond.Message, tc.status, tc.reason, tc.says)
		}
	}
}

func TestReadyCondition(t *testing.T) {
	ok := func(t string) metav1.Condition {
		return metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: "Fine"}
	}
	all := []metav1.Condition{ok(bindv1alpha1.BindingConditionConnected), ok(bindv1alpha1.BindingConditionSchemaInSync), ok(bindv1alpha1.BindingConditionSynced)}
	if ready := readyCondition(3, all); ready.Status != metav1.ConditionTrue || ready.Reason != bindv1alpha1.BindingReasonReady || ready.ObservedGeneration != 3 {
		t.Errorf("all true: %s %s", ready.Status, ready.Reason)
	}
	revoked := append([]metav1.Condition(nil), all...)
	revoked[0] = metav1.Condition{Type: bindv1alpha1.BindingConditionConnected, Status: metav1.ConditionFalse, Reason: bindv1alpha1.BindingReasonRevoked, Message: "bind again"}
	revoked[2].Status = metav1.ConditionFalse
	if ready := readyCondition(3, revoked); ready.Status != metav1.ConditionFalse || ready.Reason != bindv1alpha1.BindingReasonRevoked || !strings.Contains(ready.Message, "Connected: bind again") {
		t.Errorf("revoked: %s %s %q, want the first condition that is not true", ready.Status, ready.Reason, ready.Message)
	}
	if ready := readyCondition(3, all[:1]); ready.Status != metav1.ConditionFalse || ready.Reason != ReasonPending {
		t.Errorf("missing conditions: %s %s", ready.Status, ready.Reason)
	}
}

func TestChangedConditions(t *testing.T) {
	before := []metav1.Condition{{Type: "Connected", Status: metav1.ConditionTrue, Reason: "Connected", Message: "at 10:00"}, {Type: "Synced", Status: metav1.ConditionFalse, Reason: "SyncStarting"}}
	after := []metav1.Condition{{Type: "Connected", Status: metav1.ConditionTrue, Reason: "Connected", Message: "at 10:01"}, {Type: "Synced", Status: metav1.ConditionTrue, Reason: "SyncRunning"}, {Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready"}}
	changed := changedConditions(before, after)
	if len(changed) != 2 || changed[0].Type != "Synced" || changed[1].Type != "Ready" {
		t.Errorf("changed %v, want Synced and Ready (a new message alone is no event)", changed)
	}
	readyBefore := []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "SyncStarting"}}
	readyAfter := []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "SchemaPending"}}
	if changed := changedConditions(readyBefore, readyAfter); len(changed) != 0 {
		t.Errorf("Ready changed only its reason: %v, want no event (the other condition's event says it)", changed)
	}
}

func TestEventType(t *testing.T) {
	for _, tc := range []struct {
		cond metav1.Condition
		want string
	}{
		{metav1.Condition{Status: metav1.ConditionTrue, Reason: bindv1alpha1.BindingReasonReady}, "Normal"},
		{metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonSyncStarting}, "Normal"},
		{metav1.Condition{Status: metav1.ConditionUnknown, Reason: ReasonPending}, "Normal"},
		{metav1.Condition{Status: metav1.ConditionFalse, Reason: bindv1alpha1.BindingReasonRevoked}, "Warning"},
		{metav1.Condition{Status: metav1.ConditionFalse, Reason: bindv1alpha1.BindingReasonSchemaConflict}, "Warning"},
	} {
		if got := eventType(tc.cond); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.cond.Status, tc.cond.Reason, got, tc.want)
		}
	}
}
