package consumers

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bindery-dev/bindery/test/servers"
)

// provider is the provider cluster every test of the package shares.
var provider *servers.Kube

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, err := servers.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	provider, err = servers.StartKube(servers.KubeOptions{CRDPaths: []string{
		filepath.Join(root, "deploy/crd"),
		filepath.Join(root, "test/e2e/consumers/testdata/crds.yaml"),
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting a kube-apiserver:", err)
		return 1
	}
	defer provider.Stop()
	return m.Run()
}
