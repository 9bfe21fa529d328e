package providers

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/bindery-dev/bindery/test/framework"
)

// Controller-runtime's global logger stays quiet; each test passes framework.Logger to what it starts.
func init() { ctrllog.SetLogger(logr.Discard()) }

// newManager returns a multicluster manager over provider, without metrics, probes or leader
// election, so that tests can run several at once.
func newManager(t *testing.T, host *rest.Config, provider multicluster.Provider) mcmanager.Manager {
	t.Helper()
	mgr, err := mcmanager.New(host, provider, manager.Options{
		Scheme:                 framework.Scheme,
		Logger:                 framework.Logger(t),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatalf("creating manager: %v", err)
	}
	return mgr
}

// startManager runs the manager until the test ends and fails the test if it stops with an error.
func startManager(t *testing.T, mgr mcmanager.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with error: %v", err)
		}
	})
}
