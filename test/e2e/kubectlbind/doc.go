// Package kubectlbind tests the consumer side of `kubectl bindery bind`, `bindings` and `unbind`
// against a real kube-apiserver standing in for the consumer's cluster. The backend is not
// needed: the tests answer the bind request themselves with a BindResponse they build, and run
// every other step for real: reading the cluster's identity, installing the ServiceBinding CRD,
// writing the credential Secret, the ServiceBinding and the per-binding ClusterRole, installing
// the konnector's manifests, and waiting for Ready.
//
// The konnector does not run here: where a test needs what it would do (report conditions,
// install the received CRD, let objects go), the test does it and says so. envtest runs no
// kube-controller-manager, so its clusterrole-aggregation controller is stood in for by
// aggregate before the konnector's rights are checked with SubjectAccessReviews.
//
// TestMain starts one kube-apiserver without CRDs (bind installs its own); tests keep apart by
// unique service names, API groups and konnector namespaces.
package kubectlbind
