package controller

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

func TestMarkReady(t *testing.T) {
	db := newDatabase("orders").build()
	markReady(db, "orders.team-a.db.provider.example:5432", "orders-credentials")

	st := db.Status
	if st.Phase != dbv1alpha1.PhaseReady || st.Endpoint != "orders.team-a.db.provider.example:5432" ||
		st.CredentialsSecretRef == nil || st.CredentialsSecretRef.Name != "orders-credentials" || st.ObservedGeneration != 1 {
		t.Fatalf("status after markReady = %+v", st)
	}
	ready := meta.FindStatusCondition(st.Conditions, dbv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || ready.Reason != dbv1alpha1.ReasonProvisioned || ready.ObservedGeneration != 1 {
		t.Fatalf("Ready condition = %+v", ready)
	}
}

// TestMarkReadyAgainKeepsTransitionTime: a spec update moves observedGeneration on, but the
// database did not stop being ready, so lastTransitionTime stays.
func TestMarkReadyAgainKeepsTransitionTime(t *testing.T) {
	db := newDatabase("orders").build()
	markReady(db, "e:5432", "orders-credentials")
	then := metav1.NewTime(time.Now().Add(-time.Hour))
	db.Status.Conditions[0].LastTransitionTime = then

	db.Generation = 2
	markReady(db, "e:5432", "orders-credentials")
	ready := meta.FindStatusCondition(db.Status.Conditions, dbv1alpha1.ConditionReady)
	if !ready.LastTransitionTime.Equal(&then) {
		t.Errorf("lastTransitionTime moved from %v to %v without a transition", then, ready.LastTransitionTime)
	}
	if ready.ObservedGeneration != 2 || db.Status.ObservedGeneration != 2 {
		t.Errorf("observedGeneration = %d (condition), %d (status), want 2", ready.ObservedGeneration, db.Status.ObservedGeneration)
	}
}

func TestMarkProvisioningKeepsEndpoint(t *testing.T) {
	db := newDatabase("orders").build()
	markReady(db, "e:5432", "orders-credentials")
	markProvisioning(db, dbv1alpha1.ReasonCredentialsConflict, "taken")

	if db.Status.Phase != dbv1alpha1.PhaseProvisioning || db.Status.Endpoint != "e:5432" {
		t.Errorf("status = %+v, want phase Provisioning with the endpoint kept", db.Status)
	}
	ready := meta.FindStatusCondition(db.Status.Conditions, dbv1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != dbv1alpha1.ReasonCredentialsConflict || ready.Message != "taken" {
		t.Errorf("Ready condition = %+v", ready)
	}
}

func TestMarkDeleting(t *testing.T) {
	db := newDatabase("orders").build()
	markDeleting(db)
	if db.Status.Phase != dbv1alpha1.PhaseDeleting || !meta.IsStatusConditionFalse(db.Status.Conditions, dbv1alpha1.ConditionReady) {
		t.Errorf("status = %+v, want phase Deleting and Ready False", db.Status)
	}
}
