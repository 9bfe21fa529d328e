package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

// conflictError says that the credentials Secret's name is taken by a Secret the operator must not
// touch. Only a human can resolve it, so the Database reports it instead of retrying fast.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// checkOwnership returns a conflictError unless an existing Secret may serve as db's credentials:
//
//   - controlled by db: it is db's, whatever labels someone removed (they are put back);
//   - controlled by anything else: not db's. With the same name, it is usually a leftover of an
//     earlier Database that was force-deleted (finalizer removed by hand) in a cluster without
//     garbage collector; it is not reused, because its password was given out before;
//   - no controller but the operator's managed-by label: adopted;
//   - no controller and no label: someone else's Secret that happens to have the name.
func checkOwnership(secret *corev1.Secret, db *dbv1alpha1.Database) error {
	owner := metav1.GetControllerOf(secret)
	switch {
	case owner != nil && owner.UID == db.UID:
		return nil
	case owner != nil:
		return &conflictError{msg: fmt.Sprintf(
			"Secret %s belongs to %s %s (uid %s), not to this Database; delete it so that the operator can create new credentials",
			secret.Name, owner.Kind, owner.Name, owner.UID)}
	case secret.Labels[LabelManagedBy] != ManagerName:
		return &conflictError{msg: fmt.Sprintf(
			"Secret %s exists but was not created by the database operator (no label %s=%s); delete or rename it so that the operator can create the credentials",
			secret.Name, LabelManagedBy, ManagerName)}
	default:
		return nil
	}
}
