// Package providers holds multicluster-runtime providers for kcp, written as a library another
// project could import: they depend only on multicluster-runtime, controller-runtime and kcp's
// client libraries.
package providers
