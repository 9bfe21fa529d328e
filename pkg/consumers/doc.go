// Package consumers provisions and revokes what a Consumer (bind.bindery.dev) owns in the provider
// cluster: one namespace where the copies of its objects live, a ServiceAccount its konnector
// acts as, and a Role with its RoleBinding that allow exactly the provider-side resources of the
// Services it bound, their related kinds, renewing its own token and its heartbeat Lease, all in
// that namespace and nothing more. Names are derived from the authenticated identity and the
// consumer cluster (Name, NamespaceName), never taken from a client.
//
// The Provisioner is what bindery-backend calls when a user binds a Service: it resolves the
// Service first, so that nothing is created for a Service that cannot be bound, then finds or
// creates the Consumer and provisions its access synchronously, and issues short-lived
// credentials (TokenRequest) as a kubeconfig. The Reconciler keeps that access as desired while
// Services, PublishedResources and hand edits change it, reports the Ready condition, and
// revokes everything when the Consumer is deleted: deleting the ServiceAccount invalidates every
// token issued for it at once.
package consumers
