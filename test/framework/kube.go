package framework

import (
	"testing"

	"github.com/bindery-dev/bindery/test/servers"
)

// StartKube starts a Kubernetes cluster (real kube-apiserver and etcd) for one test, e.g. a provider
// or a consumer cluster, and stops it when the test ends.
func StartKube(t testing.TB) *servers.Kube {
	t.Helper()
	kube, err := servers.StartKube(servers.KubeOptions{})
	if err != nil {
		t.Fatalf("starting a kube cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := kube.Stop(); err != nil {
			t.Logf("stopping kube cluster: %v", err)
		}
	})
	return kube
}
