// Package konnectorrbac is the RBAC that bindery-konnector needs in a consumer cluster, written
// once so that the konnector's chart and docs and `kubectl bindery bind` grant the same rights.
//
// The konnector's rights are narrow on purpose, never `*/*/*`: it reads ServiceBindings and
// writes their status and its finalizer on them (it never creates or deletes one), reads and
// writes Secrets (its credential Secrets and the related credentials Secrets it puts next to
// the consumer's objects), installs and updates CustomResourceDefinitions (the APIs a binding
// receives), records events, reads namespaces (the kube-system UID is the cluster's identity)
// and holds a leader-election Lease in its own namespace (a Role, not a ClusterRole).
//
// The resources a binding receives are known only per binding, so they cannot be listed in a
// role written in advance. They are granted with the Kubernetes aggregation pattern: ClusterRole
// returns a ClusterRole with an aggregationRule selecting every ClusterRole labelled
// AggregationLabel=true, and kube-controller-manager's clusterrole-aggregation controller fills its
// rules with the union of theirs. CoreClusterRole carries the fixed rules above with that label,
// and `kubectl bindery bind` creates one BindingClusterRole per binding that grants exactly the
// received resources (get, list, watch, update, patch, with their status and finalizers
// subresources) and the kinds of their related objects (RelatedRules: data kinds only). Unbinding deletes it, and the konnector loses the rights with it.
//
// The aggregated ClusterRole has no rules of its own: the aggregation controller overwrites an
// aggregated role's rules, so rules written there would be lost or fought over.
package konnectorrbac
