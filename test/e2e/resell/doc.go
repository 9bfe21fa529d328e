// Package resell is the e2e suite of the resell scenario, Kube (provider) to n*Kube (provider):
// provider A offers Databases with its bindery-backend; providers B1 and B2 bind them into their
// own clusters with konnectors (one Consumer and one namespace each on A); B1 offers the API it
// received to its own consumers C1 and C2 with a PublishedResource and a backend of its own, and
// their konnectors sync into per-consumer namespaces in B1, which B1's konnector syncs into B1's
// one namespace on A. Every party is a real kube-apiserver; A runs the example database operator.
package resell
