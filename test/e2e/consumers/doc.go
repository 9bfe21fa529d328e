// Package consumers tests the provider side of binding Services into consumers' own Kubernetes
// clusters (pkg/services and pkg/consumers) against a real kube-apiserver: what a Service
// resolves to, what a bind provisions, that a Consumer's credential can do exactly what its Role
// says and nothing else, that the Role follows the Services and hand edits, and that deleting
// the Consumer revokes it at once.
//
// It needs no kcp: TestMain starts one kube-apiserver with bindery's CRDs and the test kinds in
// testdata, which every test shares; tests keep apart by the unique names and labels of their own
// Services, PublishedResources and users, and run the reconcilers in a manager of their own.
package consumers
