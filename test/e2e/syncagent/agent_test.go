package syncagent

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/test/framework"
)

func init() { ctrllog.SetLogger(logr.Discard()) }

// startAgent runs bindery-syncagent in the test process until the test ends, exactly as the
// binary runs it, without leader election, metrics or probes.
func startAgent(t *testing.T, provider *framework.Workspace, kubeConfig syncagent.Options) {
	t.Helper()
	opts := kubeConfig
	opts.KCPConfig = provider.Config
	opts.LeaderElection = false
	opts.MetricsBindAddress = "0"
	opts.HealthProbeBindAddress = "0"
	opts.Log = framework.Logger(t).WithName("agent")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- syncagent.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent stopped with error: %v", err)
		}
	})
}
