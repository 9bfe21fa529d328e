// Package restconfig holds what every bindery process does with its rest.Configs: find its
// cluster (FromKubeconfigOrCluster: the --kubeconfig file or the pod's in-cluster config), and a
// client-side rate limit sized for a fleet, since client-go's default of 5 requests per second
// (burst 10) would throttle a sync or a recount long before kcp does.
package restconfig
