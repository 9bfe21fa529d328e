package kubectlbind

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bindery-dev/bindery/test/framework"
)

// TestKonnectorWithoutTheCRDSaysWhatToInstall: a konnector started in a cluster that has no
// ServiceBinding CRD yet (before any bind) exits at once and names the CRD and three ways to
// install it, instead of a discovery error about a missing API group.
func TestKonnectorWithoutTheCRDSaysWhatToInstall(t *testing.T) {
	bare := framework.StartKube(t)
	ctx, cancel := context.WithTimeout(framework.Context(t), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, framework.Binary(t, "./cmd/bindery-konnector"),
		"--kubeconfig", framework.WriteKubeconfig(t, "bare", bare.Config()), "--namespace", "bindery-system",
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0").CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the konnector still ran after a minute without the CRD:\n%s", out)
	}
	if err == nil {
		t.Fatalf("the konnector exited without an error in a cluster without the ServiceBinding CRD:\n%s", out)
	}
	for _, want := range []string{"does not serve servicebindings.bind.bindery.dev", "kubectl bindery bind", "deploy/crd/bind.bindery.dev_servicebindings.yaml"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the konnector's output lacks %q:\n%s", want, out)
		}
	}
}
