package exampleoperator

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestCRDRejectsInvalidDatabases checks that the API server, not the operator, turns away what the
// operator cannot serve, with messages a user understands. Only the CRD is needed for that.
func TestCRDRejectsInvalidDatabases(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t, "examples/database-operator/config/crd.yaml")
	c := newClient(t, kube.Config())

	database := func(name string, spec dbv1alpha1.DatabaseSpec) *dbv1alpha1.Database {
		return &dbv1alpha1.Database{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: spec}
	}
	for _, tc := range []struct {
		name    string
		db      *dbv1alpha1.Database
		wantErr string
	}{
		{name: "unknown engine", db: database("legacy", dbv1alpha1.DatabaseSpec{Engine: "oracle"}),
			wantErr: `spec.engine: Unsupported value: "oracle": supported values: "postgres", "mysql"`},
		{name: "no storage", db: database("tiny", dbv1alpha1.DatabaseSpec{Engine: dbv1alpha1.EnginePostgres, StorageGB: -1}),
			wantErr: `spec.storageGB: Invalid value: -1: spec.storageGB in body should be greater than or equal to 1`},
		{name: "name with a dot", db: database("orders.v2", dbv1alpha1.DatabaseSpec{Engine: dbv1alpha1.EnginePostgres}),
			wantErr: `metadata.name must be a DNS label`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Create(ctx, tc.db)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("creating %s: error %v, want one containing %q", tc.db.Name, err, tc.wantErr)
			}
		})
	}

	// A Database without engine, as kubectl would send it (the Go type always sends the field).
	noEngine := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": dbv1alpha1.GroupVersion.String(), "kind": "Database",
		"metadata": map[string]any{"name": "none", "namespace": "default"},
		"spec":     map[string]any{"storageGB": int64(5)},
	}}
	if err := c.Create(ctx, noEngine); err == nil || !strings.Contains(err.Error(), "spec.engine: Required value") {
		t.Errorf("creating a Database without engine: error %v, want one containing %q", err, "spec.engine: Required value")
	}

	// Defaults and immutability.
	db := database("orders", dbv1alpha1.DatabaseSpec{Engine: dbv1alpha1.EnginePostgres})
	if err := c.Create(ctx, db); err != nil {
		t.Fatalf("creating a valid Database: %v", err)
	}
	if db.Spec.StorageGB != 10 {
		t.Errorf("storageGB defaulted to %d, want 10", db.Spec.StorageGB)
	}
	db.Spec.Engine = dbv1alpha1.EngineMySQL
	if err := c.Update(ctx, db); err == nil || !strings.Contains(err.Error(), "engine is immutable") {
		t.Errorf("changing the engine: error %v, want one containing %q", err, "engine is immutable")
	}
}
