package kubectlbindery

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

func withConditions(generation, observed int64, conds ...metav1.Condition) *bindv1alpha1.ServiceBinding {
	b := existing("databases", "https://a.example.com", "databases", "")
	b.Generation = generation
	b.Status.ObservedGeneration = observed
	b.Status.Conditions = conds
	return b
}

func cond(t string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}

func TestConditionChangesAreReportedOnce(t *testing.T) {
	seen := map[string]metav1.Condition{}
	b := withConditions(1, 1, cond("Connected", metav1.ConditionFalse, "ProviderUnreachable", "dial tcp: refused"))
	if got := conditionChanges(seen, b); !reflect.DeepEqual(got, []string{"Connected: False (ProviderUnreachable): dial tcp: refused"}) {
		t.Errorf("first: %q", got)
	}
	if got := conditionChanges(seen, b); len(got) != 0 {
		t.Errorf("unchanged: %q", got)
	}
	b.Status.Conditions = []metav1.Condition{
		cond("Ready", metav1.ConditionFalse, "SchemaConflict", ""),
		cond("Connected", metav1.ConditionTrue, "Connected", ""),
		cond("SchemaInSync", metav1.ConditionFalse, "SchemaConflict", "CRD databases.db.example.com exists"),
	}
	want := []string{"Connected: True (Connected)", "SchemaInSync: False (SchemaConflict): CRD databases.db.example.com exists", "Ready: False (SchemaConflict)"}
	if got := conditionChanges(seen, b); !reflect.DeepEqual(got, want) {
		t.Errorf("changes %q, want %q in the watched order", got, want)
	}
}

func TestIsReadyNeedsTheCurrentGeneration(t *testing.T) {
	ready := cond("Ready", metav1.ConditionTrue, "Ready", "")
	if !isReady(withConditions(2, 2, ready)) {
		t.Error("Ready for the current generation is not ready")
	}
	if isReady(withConditions(2, 1, ready)) {
		t.Error("Ready for an older generation counts as ready")
	}
	ready.ObservedGeneration = 2
	if !isReady(withConditions(2, 0, ready)) {
		t.Error("the condition's own observedGeneration is not taken")
	}
	if isReady(withConditions(1, 1, cond("Ready", metav1.ConditionFalse, "SyncFailed", ""))) {
		t.Error("Ready False counts as ready")
	}
}

func TestNotReadyReportSaysWhatToCheck(t *testing.T) {
	b := withConditions(1, 1, cond("Connected", metav1.ConditionFalse, "Revoked", "the provider revoked the credential"))
	report := strings.Join(notReadyReport(b, 2*time.Minute, "bindery-system"), "\n")
	for _, want := range []string{
		"ServiceBinding databases is not Ready after 2m0s:",
		"Connected: False (Revoked): the provider revoked the credential",
		"SchemaInSync: not reported yet",
		"kubectl get servicebindings databases -o yaml",
		"kubectl -n bindery-system logs deployment/bindery-konnector",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if report := strings.Join(notReadyReport(withConditions(1, 0), time.Minute, "bindery-system"), "\n"); !strings.Contains(report, "Is it running?") {
		t.Errorf("a binding without conditions does not ask whether the konnector runs:\n%s", report)
	}
}

func TestNextSteps(t *testing.T) {
	b := withConditions(1, 1)
	b.Status.Resources = []bindv1alpha1.ReceivedResource{{CRD: "databases.db.example.com", Group: "db.example.com", Resource: "databases", Kind: "Database"}}
	var out bytes.Buffer
	printNextSteps(progress{&out}, b)
	for _, want := range []string{"databases.db.example.com (kind Database)", "kubectl get crd databases.db.example.com", "kubectl create -f my-database.yaml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("next steps lack %q:\n%s", want, out.String())
		}
	}
}
