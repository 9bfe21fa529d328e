package exampleoperator

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestDatabaseLifecycle runs the operator binary as its ServiceAccount and walks a Database through
// its life: provisioned with a Secret, updated without a new password, deleted with its Secret.
func TestDatabaseLifecycle(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t) // no CRDs: the operator installs its own
	c := newClient(t, kube.Config())
	op := startOperator(t, kube)
	waitHTTP(t, op.probeURL+"/readyz")

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	orders := sampleDatabase(t, ns.Name) // postgres, 5 GB
	framework.CreateWhenServed(t, c, orders)
	inventory := &dbv1alpha1.Database{
		ObjectMeta: metav1.ObjectMeta{Name: "inventory", Namespace: ns.Name},
		Spec:       dbv1alpha1.DatabaseSpec{Engine: dbv1alpha1.EngineMySQL},
	}
	if err := c.Create(ctx, inventory); err != nil {
		t.Fatal(err)
	}

	// Provisioned: status, finalizer and Secret.
	got := waitReady(t, c, orders)
	if want := "orders.team-a.db.provider.example:5432"; got.Status.Endpoint != want {
		t.Errorf("orders: endpoint %q, want %q", got.Status.Endpoint, want)
	}
	if ref := got.Status.CredentialsSecretRef; ref == nil || ref.Name != "orders-credentials" {
		t.Errorf("orders: credentialsSecretRef %+v, want orders-credentials", ref)
	}
	if ready := meta.FindStatusCondition(got.Status.Conditions, dbv1alpha1.ConditionReady); ready.Reason != dbv1alpha1.ReasonProvisioned {
		t.Errorf("orders: Ready reason %q, want %q", ready.Reason, dbv1alpha1.ReasonProvisioned)
	}
	if !strings.Contains(strings.Join(got.Finalizers, " "), "db.provider.example/cleanup") {
		t.Errorf("orders: finalizers %v, want db.provider.example/cleanup", got.Finalizers)
	}
	secret := &corev1.Secret{}
	secretKey := client.ObjectKey{Namespace: ns.Name, Name: "orders-credentials"}
	if err := c.Get(ctx, secretKey, secret); err != nil {
		t.Fatalf("getting the credentials Secret: %v", err)
	}
	checkCredentials(t, secret, got, "5432", "postgres")
	password := string(secret.Data["password"])

	if got := waitReady(t, c, inventory); got.Status.Endpoint != "inventory.team-a.db.provider.example:3306" {
		t.Errorf("inventory: endpoint %q, want inventory.team-a.db.provider.example:3306", got.Status.Endpoint)
	}
	if got.Spec.StorageGB != 5 {
		t.Errorf("orders: storageGB %d, want 5 from the sample", got.Spec.StorageGB)
	}
	waitEvent(t, c, ns.Name, "orders", dbv1alpha1.ReasonProvisioned)

	// A spec update is observed (generation 2) and keeps the password.
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.StorageGB = 20
	got.Spec.BackupSchedule = "0 3 * * *"
	if err := c.Patch(ctx, got, patch); err != nil {
		t.Fatalf("updating the spec: %v", err)
	}
	if got.Generation != 2 {
		t.Fatalf("generation after the update = %d, want 2", got.Generation)
	}
	waitReady(t, c, got)
	if err := c.Get(ctx, secretKey, secret); err != nil {
		t.Fatal(err)
	}
	if string(secret.Data["password"]) != password {
		t.Errorf("the password changed after a spec update")
	}

	// A deleted Secret is recreated (the operator watches its Secrets).
	if err := c.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the credentials Secret to be recreated", func(ctx context.Context) (bool, string, error) {
		fresh := &corev1.Secret{}
		if err := c.Get(ctx, secretKey, fresh); err != nil {
			return false, "", err
		}
		return fresh.UID != secret.UID, "", nil
	})

	// Deletion: this kube-apiserver has no garbage collector, so the Secret disappears only
	// because the operator deletes it before it removes its finalizer.
	if err := c.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, got)
	waitGone(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "orders-credentials"}})
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "inventory-credentials"}, &corev1.Secret{}); err != nil {
		t.Errorf("deleting orders touched inventory's Secret: %v", err)
	}

	// SIGTERM stops the operator cleanly: it hands its leader lease over and exits.
	if err := syscall.Kill(op.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the operator to exit after SIGTERM", func(context.Context) (bool, string, error) {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", op.Pid()))
		return os.IsNotExist(err), "still running", nil
	})
	lease := &coordinationv1.Lease{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "database-operator.db.provider.example"}, lease); err != nil {
		t.Fatalf("getting the leader election lease: %v", err)
	}
	if holder := lease.Spec.HolderIdentity; holder != nil && *holder != "" {
		t.Errorf("the lease is still held by %q after shutdown", *holder)
	}
}

func checkCredentials(t *testing.T, secret *corev1.Secret, db *dbv1alpha1.Database, port, engine string) {
	t.Helper()
	want := map[string]string{
		"username": "admin", "host": db.Name + "." + db.Namespace + ".db.provider.example", "port": port, "engine": engine,
	}
	for k, v := range want {
		if got := string(secret.Data[k]); got != v {
			t.Errorf("Secret %s: %s = %q, want %q", secret.Name, k, got, v)
		}
	}
	if len(secret.Data["password"]) < 20 {
		t.Errorf("Secret %s: password %q is too short", secret.Name, secret.Data["password"])
	}
	if !metav1.IsControlledBy(secret, db) {
		t.Errorf("Secret %s: owner references %+v, want the Database as controller", secret.Name, secret.OwnerReferences)
	}
	if secret.Labels["app.kubernetes.io/managed-by"] != "database-operator" || secret.Labels["db.provider.example/database"] != db.Name {
		t.Errorf("Secret %s: labels %v", secret.Name, secret.Labels)
	}
}

// waitEvent waits for an event with reason about the Database name in namespace.
func waitEvent(t *testing.T, c client.Client, namespace, name, reason string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("a %s event on Database %s", reason, name), func(ctx context.Context) (bool, string, error) {
		list := &eventsv1.EventList{}
		if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Kind == "Database" && e.Regarding.Name == name {
				if e.Reason == reason {
					return true, "", nil
				}
				seen = append(seen, e.Reason)
			}
		}
		return false, fmt.Sprintf("events: %v", seen), nil
	})
}
