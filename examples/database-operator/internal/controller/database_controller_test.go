package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

// These tests walk the reconciler's steps against controller-runtime's fake client, which keeps
// them in `make test-unit`; test/e2e/exampleoperator runs the operator against a real API server.

func newReconciler(t *testing.T, objs ...client.Object) (*DatabaseReconciler, *events.FakeRecorder) {
	t.Helper()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(dbv1alpha1.AddToScheme(scheme))
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&dbv1alpha1.Database{}).
		WithObjects(objs...).Build()
	recorder := events.NewFakeRecorder(100)
	gen, _ := passwords("pw-1", "pw-2", "pw-3")
	return &DatabaseReconciler{Client: c, APIReader: c, Recorder: recorder, NewPassword: gen}, recorder
}

func reconcile(t *testing.T, r *DatabaseReconciler, db *dbv1alpha1.Database) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(db)})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return res
}

func get[T client.Object](t *testing.T, c client.Client, key client.ObjectKey, obj T) T {
	t.Helper()
	if err := c.Get(context.Background(), key, obj); err != nil {
		t.Fatalf("getting %s: %v", key, err)
	}
	return obj
}

func TestReconcileProvisionsAndKeepsPassword(t *testing.T) {
	db := newDatabase("orders").build()
	r, recorder := newReconciler(t, db)
	ctx := context.Background()
	dbKey := client.ObjectKeyFromObject(db)
	secretKey := client.ObjectKey{Namespace: db.Namespace, Name: "orders-credentials"}

	reconcile(t, r, db)
	got := get(t, r.Client, dbKey, &dbv1alpha1.Database{})
	if !strings.Contains(strings.Join(got.Finalizers, ","), Finalizer) {
		t.Errorf("finalizers = %v, want %s", got.Finalizers, Finalizer)
	}
	if got.Status.Phase != dbv1alpha1.PhaseReady || got.Status.Endpoint != "orders.team-a.db.provider.example:5432" ||
		!meta.IsStatusConditionTrue(got.Status.Conditions, dbv1alpha1.ConditionReady) {
		t.Errorf("status = %+v, want Ready at orders.team-a.db.provider.example:5432", got.Status)
	}
	secret := get(t, r.Client, secretKey, &corev1.Secret{})
	if string(secret.Data[KeyPassword]) != "pw-1" || secret.Labels[LabelDatabase] != "orders" {
		t.Errorf("Secret = %+v", secret)
	}
	wantEvents(t, recorder, eventCredentialsCreated, dbv1alpha1.ReasonProvisioned)

	// A spec update and another reconcile keep the password, and say nothing new.
	got.Spec.StorageGB = 50
	if err := r.Client.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, db)
	if secret := get(t, r.Client, secretKey, &corev1.Secret{}); string(secret.Data[KeyPassword]) != "pw-1" {
		t.Errorf("password changed to %q on re-reconcile", secret.Data[KeyPassword])
	}
	wantEvents(t, recorder)
}

func TestReconcileDeleteRemovesSecretThenFinalizer(t *testing.T) {
	db := newDatabase("orders").build()
	r, recorder := newReconciler(t, db)
	ctx := context.Background()
	reconcile(t, r, db)
	wantEvents(t, recorder, eventCredentialsCreated, dbv1alpha1.ReasonProvisioned)

	if err := r.Client.Delete(ctx, get(t, r.Client, client.ObjectKeyFromObject(db), &dbv1alpha1.Database{})); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, db)
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: db.Namespace, Name: "orders-credentials"}, &corev1.Secret{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("getting the Secret after deletion: %v, want NotFound", err)
	}
	// With the finalizer gone, the fake client, like the API server, removes the Database.
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(db), &dbv1alpha1.Database{}); !apierrors.IsNotFound(err) {
		t.Errorf("getting the Database after deletion: %v, want NotFound", err)
	}
	wantEvents(t, recorder, eventDeprovisioned)

	// A late event for the gone Database is a no-op.
	reconcile(t, r, db)
}

func TestReconcileLeavesForeignSecretAlone(t *testing.T) {
	db := newDatabase("orders").build()
	foreign := newSecret("orders-credentials").data("password", "theirs").build()
	r, recorder := newReconciler(t, db, foreign)

	res := reconcile(t, r, db)
	if res.RequeueAfter != time.Minute {
		t.Errorf("RequeueAfter = %v, want a minute", res.RequeueAfter)
	}
	got := get(t, r.Client, client.ObjectKeyFromObject(db), &dbv1alpha1.Database{})
	ready := meta.FindStatusCondition(got.Status.Conditions, dbv1alpha1.ConditionReady)
	if got.Status.Phase != dbv1alpha1.PhaseProvisioning || ready == nil || ready.Reason != dbv1alpha1.ReasonCredentialsConflict {
		t.Errorf("status = %+v, want Provisioning with reason %s", got.Status, dbv1alpha1.ReasonCredentialsConflict)
	}
	secret := get(t, r.Client, client.ObjectKeyFromObject(foreign), &corev1.Secret{})
	if string(secret.Data["password"]) != "theirs" || len(secret.OwnerReferences) != 0 {
		t.Errorf("the foreign Secret was modified: %+v", secret)
	}
	wantEvents(t, recorder, dbv1alpha1.ReasonCredentialsConflict)

	// Deleting the Database must not delete the foreign Secret either.
	if err := r.Client.Delete(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, db)
	get(t, r.Client, client.ObjectKeyFromObject(foreign), &corev1.Secret{})
}

// wantEvents checks that exactly the events with these reasons were recorded since the last call,
// in this order.
func wantEvents(t *testing.T, recorder *events.FakeRecorder, reasons ...string) {
	t.Helper()
	var got []string
	for len(recorder.Events) > 0 {
		got = append(got, <-recorder.Events)
	}
	if len(got) != len(reasons) {
		t.Fatalf("events = %q, want reasons %q", got, reasons)
	}
	for i, reason := range reasons {
		// FakeRecorder formats an event as "<type> <reason> <note>".
		if fields := strings.Fields(got[i]); len(fields) < 2 || fields[1] != reason {
			t.Errorf("event %d = %q, want reason %s", i, got[i], reason)
		}
	}
}
