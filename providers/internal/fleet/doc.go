// Package fleet is the engine shared by bindery's kcp providers: it runs one wildcard cache per
// endpoint (a virtual workspace URL or a kcp server), watches one kind of object through it, and
// engages a logical cluster with multicluster-runtime while at least one such object in that
// cluster is accepted by a predicate (for example: a Ready APIBinding), disengaging it when the
// last one goes. Engagement changes flow through a rate-limited work queue, so a failed Engage
// is retried and a burst of events for one cluster is handled once.
package fleet
