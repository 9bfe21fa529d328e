package framework

import (
	"path/filepath"
	"testing"

	"github.com/bindery-dev/bindery/test/servers"
)

// StartKube starts a Kubernetes cluster (real kube-apiserver and etcd) for one test, e.g. a provider
// or a consumer cluster, and stops it when the test ends.
//
// crdPaths are files or folders of CRD manifests, relative to the repository root, to install.
func StartKube(t testing.TB, crdPaths ...string) *servers.Kube {
	t.Helper()
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	opts := servers.KubeOptions{}
	for _, p := range crdPaths {
		opts.CRDPaths = append(opts.CRDPaths, filepath.Join(root, p))
	}
	kube, err := servers.StartKube(opts)
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
