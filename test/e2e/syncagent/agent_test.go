package syncagent

import (
	"context"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

func init() { ctrllog.SetLogger(logr.Discard()) }

// startAgent runs bindery-syncagent in the test process until the test ends, exactly as the
// binary runs it, without leader election, metrics or probes.
func startAgent(t *testing.T, provider *framework.Workspace, kubeConfig syncagent.Options) {
	t.Helper()
	opts := kubeConfig
	opts.LeaderElection = false
	runAgent(t, provider, opts)
}

// runAgent runs bindery-syncagent as the binary runs it (with leader election if opts say so),
// without metrics or probes, until stop is called or the test ends.
func runAgent(t *testing.T, provider *framework.Workspace, opts syncagent.Options) (stop func()) {
	t.Helper()
	opts.KCPConfig = provider.Config
	opts.MetricsBindAddress = "0"
	opts.HealthProbeBindAddress = "0"
	opts.Log = framework.Logger(t).WithName("agent")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- syncagent.Run(ctx, opts) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent %s stopped with error: %v", opts.AgentName, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// newProviderSide starts a provider cluster with the test's Database CRD and makes a provider
// workspace for the export.
func newProviderSide(t *testing.T) (*servers.Kube, client.Client, *framework.Workspace) {
	t.Helper()
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	if err := providerCluster.Create(framework.Context(t), syncCRD()); err != nil {
		t.Fatal(err)
	}
	return kube, providerCluster, framework.NewWorkspace(t, "provider")
}

// agentProcessArgs are the flags that run bindery-syncagent as a process for the provider
// workspace and cluster, without leader election, metrics or probes.
func agentProcessArgs(t *testing.T, provider *framework.Workspace, kube *servers.Kube, agentName string) []string {
	t.Helper()
	return []string{
		"--kcp-kubeconfig", framework.WriteKubeconfig(t, "kcp", provider.Config),
		"--kubeconfig", framework.WriteKubeconfig(t, "provider", kube.Config()),
		"--apiexport-endpoint-slice", exportName, "--agent-name", agentName,
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
	}
}

// bindForSync binds the provider's export in consumer, accepting the claims every synced export
// has (events and namespaces).
func bindForSync(t *testing.T, consumer, provider *framework.Workspace) *apisv1alpha2.APIBinding {
	t.Helper()
	return framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"))
}
