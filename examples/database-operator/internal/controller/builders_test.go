package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

// databaseBuilder builds Databases for tests: newDatabase("orders").engine("mysql").build().
type databaseBuilder struct{ db *dbv1alpha1.Database }

func newDatabase(name string) *databaseBuilder {
	return &databaseBuilder{db: &dbv1alpha1.Database{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", UID: types.UID(name + "-uid"), Generation: 1},
		Spec:       dbv1alpha1.DatabaseSpec{Engine: dbv1alpha1.EnginePostgres, StorageGB: 10},
	}}
}

func (b *databaseBuilder) engine(e dbv1alpha1.Engine) *databaseBuilder {
	b.db.Spec.Engine = e
	return b
}

func (b *databaseBuilder) build() *dbv1alpha1.Database { return b.db.DeepCopy() }

// secretBuilder builds credentials Secrets for tests.
type secretBuilder struct{ s *corev1.Secret }

func newSecret(name string) *secretBuilder {
	return &secretBuilder{s: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a"}}}
}

func (b *secretBuilder) managed() *secretBuilder {
	b.s.Labels = map[string]string{LabelManagedBy: ManagerName}
	return b
}

func (b *secretBuilder) controlledBy(db *dbv1alpha1.Database) *secretBuilder {
	b.s.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: dbv1alpha1.GroupVersion.String(), Kind: "Database",
		Name: db.Name, UID: db.UID, Controller: ptr(true),
	}}
	return b
}

func (b *secretBuilder) data(kv ...string) *secretBuilder {
	b.s.Data = map[string][]byte{}
	for i := 0; i+1 < len(kv); i += 2 {
		b.s.Data[kv[i]] = []byte(kv[i+1])
	}
	return b
}

func (b *secretBuilder) build() *corev1.Secret { return b.s.DeepCopy() }

func ptr[T any](v T) *T { return &v }
