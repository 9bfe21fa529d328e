// Package v1alpha1 is the db.provider.example/v1alpha1 API of the example database operator:
// Database, a database that the provider runs for whoever created the object. The spec says what
// is wanted (engine, version, size); the status says where to connect and which Secret holds the
// credentials.
//
// The API is deliberately an ordinary provider API that knows nothing about bindery: bindery's
// syncagent publishes it into kcp under a consumer-facing group. spec.backupSchedule stands for
// the provider-internal settings that consumers are not meant to set.
//
// The DeepCopy methods in zz_generated.deepcopy.go are generated; after changing a type, run
// go generate ./examples/database-operator/api/... from the repository root.
//
// +kubebuilder:object:generate=true
// +groupName=db.provider.example
package v1alpha1

//go:generate go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.20.0 object paths=.
