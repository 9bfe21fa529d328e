// Package deploy tests bindery's Helm charts (deploy/charts) as an installer would meet them: it
// renders each chart with the pinned helm (bin/tools/helm), installs the output into a real
// kube-apiserver with server-side apply and strict field validation, CRDs first, and checks what
// landed: the Deployments' arguments parse as the binaries' flags, and the ServiceAccounts hold
// the rights the processes need and no more, as the API server's RBAC authorizer decides them.
// It also checks that the syncagent chart's RBAC agrees with deploy/syncagent/rbac.yaml and the
// konnector chart's with what `kubectl bindery bind --konnector=install` applies.
//
// No pod runs (there is no kubelet), so the backend and the konnector are run as processes the
// way their pods would run them: as the chart's ServiceAccount, with the container's args and its
// mounted Secrets and ConfigMaps (process_test.go). The backend then binds, provisions and revokes
// a Consumer with exactly the chart's rights; the konnector takes its Lease and reports on a
// ServiceBinding.
//
// No kcp is started: the charts install into an ordinary Kubernetes cluster.
package deploy
