// Command database-operator is an example provider operator: the "provider service" of bindery's
// quickstart. It runs in an ordinary Kubernetes cluster and knows nothing about bindery or kcp;
// bindery-syncagent publishes its API into kcp, and consumers' Databases reach it as ordinary
// objects of the provider cluster.
//
// It serves databases.db.provider.example (kind Database, version v1alpha1). For each Database it
// creates a Secret <name>-credentials with the keys username, password, host, port and engine, and
// reports status.endpoint (<name>.<namespace>.db.provider.example:5432, or :3306 for mysql) with a
// Ready condition. Deleting a Database deletes its Secret. The databases themselves are
// imaginary: nothing listens on the endpoint.
//
// By default it installs its CRD at start (--install-crd) and serves no HTTP endpoints; run it
// with a kubeconfig of the provider cluster:
//
//	go build -o bin/database-operator ./examples/database-operator
//	bin/database-operator --kubeconfig .bindery/provider.kubeconfig
//	kubectl --kubeconfig .bindery/provider.kubeconfig apply -n default -f examples/database-operator/config/sample.yaml
//
// config/rbac.yaml lists the permissions it needs when it runs in a cluster as a ServiceAccount.
package main
