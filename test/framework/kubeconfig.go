package framework

import (
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bindery-dev/bindery/pkg/kcpconfig"
)

// WriteKubeconfig writes cfg as a kubeconfig file in the test's temporary folder, for processes
// the test starts.
func WriteKubeconfig(t testing.TB, name string, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*kcpconfig.Kubeconfig(cfg, name), path); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	return path
}
