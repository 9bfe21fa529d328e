package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

// Event reasons besides the Ready condition's; actions name what the operator was doing.
const (
	eventCredentialsCreated = "CredentialsCreated"
	eventDeprovisioned      = "Deprovisioned"
	actionProvision         = "Provision"
	actionDeprovision       = "Deprovision"
)

// defaultConflictRetry is how often a Database whose Secret name is taken looks again: the other
// Secret is not watched (the cache holds only the operator's own), so nothing else would tell.
const defaultConflictRetry = time.Minute

// DatabaseReconciler provisions Databases; see the package documentation.
type DatabaseReconciler struct {
	// Client reads Databases from the manager's cache and writes everything.
	Client client.Client
	// APIReader reads credentials Secrets from the API server, not from the cache: a Secret
	// created a moment ago may not be in the cache yet, and the operator must neither create it
	// twice nor let a Database go while its Secret still exists.
	APIReader client.Reader
	// Recorder emits events on Databases.
	Recorder events.EventRecorder

	// NewPassword generates the password of a new database; nil means 130 random bits.
	NewPassword func() string
	// ConflictRetry is how often a Database in conflict with another Secret retries; zero means
	// a minute.
	ConflictRetry time.Duration
}

// SetupWithManager registers the reconciler with mgr.
func (r *DatabaseReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&dbv1alpha1.Database{}).
		// A changed or deleted credentials Secret reconciles its Database, which repairs it.
		Owns(&corev1.Secret{}).
		Named("database").
		Complete(r)
}

// Reconcile brings one Database's Secret and status in line with its spec, or cleans up after a
// deleted Database.
func (r *DatabaseReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	db := &dbv1alpha1.Database{}
	if err := r.Client.Get(ctx, req.NamespacedName, db); err != nil {
		// Not found: deleted and cleaned up already.
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !db.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, db)
	}
	return r.reconcileNormal(ctx, db)
}

func (r *DatabaseReconciler) reconcileNormal(ctx context.Context, db *dbv1alpha1.Database) (ctrl.Result, error) {
	// The finalizer goes on before anything is created, so that nothing escapes the cleanup.
	if err := r.ensureFinalizer(ctx, db); err != nil {
		return ctrl.Result{}, err
	}
	before := db.DeepCopy()

	endpoint, err := Endpoint(db)
	if err != nil {
		// Only a new spec helps, and a new spec brings its own reconcile.
		markProvisioning(db, dbv1alpha1.ReasonUnsupportedEngine, err.Error())
		return ctrl.Result{}, r.patchStatus(ctx, before, db)
	}

	secretName, err := r.ensureCredentials(ctx, db)
	var conflict *conflictError
	if errors.As(err, &conflict) {
		markProvisioning(db, dbv1alpha1.ReasonCredentialsConflict, conflict.Error())
		r.Recorder.Eventf(db, nil, corev1.EventTypeWarning, dbv1alpha1.ReasonCredentialsConflict, actionProvision, "%s", conflict.Error())
		return ctrl.Result{RequeueAfter: r.conflictRetry()}, r.patchStatus(ctx, before, db)
	}
	if err != nil {
		markProvisioning(db, dbv1alpha1.ReasonProvisioning, fmt.Sprintf("Provisioning the credentials failed, retrying: %v", err))
		return ctrl.Result{}, errors.Join(err, r.patchStatus(ctx, before, db))
	}

	markReady(db, endpoint, secretName)
	if err := r.patchStatus(ctx, before, db); err != nil {
		return ctrl.Result{}, err
	}
	if !meta.IsStatusConditionTrue(before.Status.Conditions, dbv1alpha1.ConditionReady) {
		r.Recorder.Eventf(db, nil, corev1.EventTypeNormal, dbv1alpha1.ReasonProvisioned, actionProvision, "Database is ready at %s", endpoint)
	}
	return ctrl.Result{}, nil
}

// reconcileDelete deletes the credentials Secret, then lets the Database go. It does not rely on
// the Secret's owner reference: the provider cluster may have no garbage collector.
func (r *DatabaseReconciler) reconcileDelete(ctx context.Context, db *dbv1alpha1.Database) error {
	if !controllerutil.ContainsFinalizer(db, Finalizer) {
		return nil // cleaned up already, or never provisioned
	}
	if db.Status.Phase != dbv1alpha1.PhaseDeleting {
		before := db.DeepCopy()
		markDeleting(db)
		if err := r.patchStatus(ctx, before, db); err != nil {
			return err
		}
	}
	if err := r.deleteCredentials(ctx, db); err != nil {
		return err
	}
	if err := r.removeFinalizer(ctx, db); err != nil {
		return err
	}
	r.Recorder.Eventf(db, nil, corev1.EventTypeNormal, eventDeprovisioned, actionDeprovision, "Deleted the database and its credentials Secret")
	return nil
}

// ensureCredentials creates or repairs db's credentials Secret and returns its name.
func (r *DatabaseReconciler) ensureCredentials(ctx context.Context, db *dbv1alpha1.Database) (string, error) {
	key := client.ObjectKey{Namespace: db.Namespace, Name: SecretName(db)}
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		if err := r.createCredentials(ctx, db, key); err != nil {
			return "", err
		}
		return key.Name, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading Secret %s: %w", key.Name, err)
	}
	if err := checkOwnership(secret, db); err != nil {
		return "", err
	}

	original := secret.DeepCopy()
	if err := r.setCredentials(secret, db); err != nil {
		return "", err
	}
	if equality.Semantic.DeepEqual(original, secret) {
		return key.Name, nil
	}
	// A merge patch sends only what changed (usually host, port or a label someone removed), and
	// leaves alone what others added, such as their own labels.
	if err := r.Client.Patch(ctx, secret, client.MergeFrom(original)); err != nil {
		return "", fmt.Errorf("repairing Secret %s: %w", key.Name, err)
	}
	log.FromContext(ctx).Info("Repaired credentials Secret", "secret", key.Name)
	return key.Name, nil
}

func (r *DatabaseReconciler) createCredentials(ctx context.Context, db *dbv1alpha1.Database, key client.ObjectKey) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Type:       corev1.SecretTypeOpaque,
	}
	if err := r.setCredentials(secret, db); err != nil {
		return err
	}
	// AlreadyExists means someone created it since it was read; the retry reads it again.
	if err := r.Client.Create(ctx, secret); err != nil {
		return fmt.Errorf("creating Secret %s: %w", key.Name, err)
	}
	r.Recorder.Eventf(db, secret, corev1.EventTypeNormal, eventCredentialsCreated, actionProvision, "Created Secret %s with the credentials", key.Name)
	return nil
}

// setCredentials sets the labels, controller reference and data of db's credentials Secret.
func (r *DatabaseReconciler) setCredentials(secret *corev1.Secret, db *dbv1alpha1.Database) error {
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	maps.Copy(secret.Labels, secretLabels(db))
	if err := controllerutil.SetControllerReference(db, secret, r.Client.Scheme()); err != nil {
		return fmt.Errorf("owning Secret %s: %w", secret.Name, err)
	}
	data, err := credentialsData(db, secret.Data, r.newPassword)
	if err != nil {
		return err
	}
	secret.Data = data
	return nil
}

// deleteCredentials deletes db's credentials Secret if it is db's.
func (r *DatabaseReconciler) deleteCredentials(ctx context.Context, db *dbv1alpha1.Database) error {
	key := client.ObjectKey{Namespace: db.Namespace, Name: SecretName(db)}
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, key, secret); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(secret, db) {
		// Someone else's Secret that happens to have the name (the Database reported the
		// conflict): not the operator's to delete.
		return nil
	}
	// The UID precondition makes sure that what is deleted is the Secret just checked.
	if err := r.Client.Delete(ctx, secret, client.Preconditions{UID: &secret.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Secret %s: %w", key.Name, err)
	}
	return nil
}

// ensureFinalizer adds the finalizer. The optimistic lock makes the patch fail on a stale copy
// from the cache, instead of overwriting finalizers others added meanwhile.
func (r *DatabaseReconciler) ensureFinalizer(ctx context.Context, db *dbv1alpha1.Database) error {
	if controllerutil.ContainsFinalizer(db, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(db.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(db, Finalizer)
	if err := r.Client.Patch(ctx, db, patch); err != nil {
		return fmt.Errorf("adding finalizer: %w", err)
	}
	return nil
}

func (r *DatabaseReconciler) removeFinalizer(ctx context.Context, db *dbv1alpha1.Database) error {
	patch := client.MergeFromWithOptions(db.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(db, Finalizer)
	if err := r.Client.Patch(ctx, db, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

// patchStatus writes db's status through the status subresource, if it changed since before.
func (r *DatabaseReconciler) patchStatus(ctx context.Context, before, db *dbv1alpha1.Database) error {
	if equality.Semantic.DeepEqual(before.Status, db.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, db, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

func (r *DatabaseReconciler) newPassword() string {
	if r.NewPassword != nil {
		return r.NewPassword()
	}
	return randomPassword()
}

func (r *DatabaseReconciler) conflictRetry() time.Duration {
	if r.ConflictRetry > 0 {
		return r.ConflictRetry
	}
	return defaultConflictRetry
}
