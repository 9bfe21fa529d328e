package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

// The functions below set a Database's status in memory; the reconciler writes it with one patch.
// Each sets the phase and the Ready condition together, so that the two never disagree.

// markReady records that the database serves at endpoint with the credentials in secretName.
func markReady(db *dbv1alpha1.Database, endpoint, secretName string) {
	db.Status.Phase = dbv1alpha1.PhaseReady
	db.Status.Endpoint = endpoint
	db.Status.CredentialsSecretRef = &dbv1alpha1.SecretReference{Name: secretName}
	setReady(db, metav1.ConditionTrue, dbv1alpha1.ReasonProvisioned, "The database is ready; its credentials are in Secret "+secretName+".")
}

// markProvisioning records that the database cannot be used yet, and why. Endpoint and Secret
// reference are kept: once given out, they stay valid while the operator sorts things out.
func markProvisioning(db *dbv1alpha1.Database, reason, message string) {
	db.Status.Phase = dbv1alpha1.PhaseProvisioning
	setReady(db, metav1.ConditionFalse, reason, message)
}

// markDeleting records that the database is being deleted.
func markDeleting(db *dbv1alpha1.Database) {
	db.Status.Phase = dbv1alpha1.PhaseDeleting
	setReady(db, metav1.ConditionFalse, dbv1alpha1.ReasonDeleting, "The database is being deleted.")
}

func setReady(db *dbv1alpha1.Database, status metav1.ConditionStatus, reason, message string) {
	db.Status.ObservedGeneration = db.Generation
	// SetStatusCondition keeps lastTransitionTime unless the status changes.
	meta.SetStatusCondition(&db.Status.Conditions, metav1.Condition{
		Type:               dbv1alpha1.ConditionReady,
		Status:             status,
		ObservedGeneration: db.Generation,
		Reason:             reason,
		Message:            message,
	})
}
