// Package konnector is bindery-konnector: the consumer-side half of a binding, one process per
// consumer cluster. For every ServiceBinding in the cluster it keeps a connection to the
// provider, reached with the binding's credential (a short-lived ServiceAccount token of the
// Consumer, in the Secret the binding names), and through it:
//
//   - renews the credential before it expires (a TokenRequest for its own ServiceAccount, written
//     back into the Secret; the token lives in an atomic value that every request to the provider
//     reads, so renewal restarts nothing);
//   - heartbeats through the Consumer's Lease on the provider, which the provider shows on its
//     Consumer;
//   - installs the consumer-facing CRDs the provider publishes for the binding (one BoundAPI per
//     API in the Consumer's namespace), renamed into the binding's group when it asks for one, and
//     follows their schema changes;
//   - runs the sync engine (pkg/syncengine) once per received API: the consumer cluster is the
//     source of truth, the copies land in the Consumer's namespace on the provider, and status and
//     related objects come back.
//
// Everything a person needs to know is on the ServiceBinding: Connected, SchemaInSync, Synced and
// Ready conditions with events when they change, lastHeartbeatTime, credentialExpiresAt and the
// received resources. One binding's trouble never reaches another's: each has its own connection,
// caches and sync controllers.
//
// Deleting a ServiceBinding disconnects it: its sync controllers and connection stop, and the
// sync engine's finalizer is removed from the consumer's objects of the received kinds so that
// their deletion is never stuck. The objects, their CRDs and their copies on the provider stay;
// removing them is a decision for a person (deleting a CRD deletes every object of it).
package konnector
