package syncengine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bindery-dev/bindery/test/servers"
)

// sourceCluster and destinationCluster are the clusters every test of the package shares.
var sourceCluster, destinationCluster *servers.Kube

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, err := servers.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	opts := servers.KubeOptions{CRDPaths: []string{filepath.Join(root, "test/e2e/syncengine/testdata/crds.yaml")}}
	for _, c := range []**servers.Kube{&sourceCluster, &destinationCluster} {
		if *c, err = servers.StartKube(opts); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: starting a kube-apiserver:", err)
			return 1
		}
		defer (*c).Stop()
	}
	return m.Run()
}
