package fleet

import (
	"context"

	"github.com/kcp-dev/logicalcluster/v3"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
)

func (e *Engine) processNext(ctx context.Context) bool {
	name, shutdown := e.queue.Get()
	if shutdown {
		return false
	}
	defer e.queue.Done(name)
	if err := e.reconcile(ctx, name); err != nil {
		e.opts.Log.Error(err, "engaging cluster failed; retrying", "cluster", name)
		e.queue.AddRateLimited(name)
		return true
	}
	e.queue.Forget(name)
	return true
}

// reconcile makes a cluster engaged exactly while some endpoint has an accepted object for it.
func (e *Engine) reconcile(_ context.Context, name logicalcluster.Name) error {
	e.mu.RLock()
	want := e.endpointAccepting(name)
	current := e.engaged[name]
	e.mu.RUnlock()

	if current != nil && current.endpoint == want {
		return nil
	}
	if current != nil {
		e.disengage(name, current)
	}
	if want == nil {
		return nil
	}
	return e.engage(name, want)
}

// endpointAccepting returns the running endpoint that has an accepted object for the cluster.
// Callers hold e.mu.
func (e *Engine) endpointAccepting(name logicalcluster.Name) *endpoint {
	for _, ep := range e.endpoints {
		if ep.ctx != nil && ep.ctx.Err() == nil && ep.accepts(name) {
			return ep
		}
	}
	return nil
}

func (e *Engine) engage(name logicalcluster.Name, ep *endpoint) error {
	cl := ep.cache.NewCluster(name)
	ctx, cancel := context.WithCancel(ep.ctx)
	ec := &engagedCluster{endpoint: ep, cluster: cl, cancel: cancel}
	go func() { _ = cl.Start(ctx) }()

	// Registered before Engage, so that controllers can Get the cluster while they engage it.
	e.mu.Lock()
	e.engaged[name] = ec
	e.mu.Unlock()
	if err := e.aware.Engage(ctx, multicluster.ClusterName(name), cl); err != nil {
		e.disengage(name, ec)
		return err
	}
	e.opts.Log.Info("engaged cluster", "cluster", name, "endpoint", ep.url)
	return nil
}

func (e *Engine) disengage(name logicalcluster.Name, ec *engagedCluster) {
	ec.cancel()
	e.mu.Lock()
	if e.engaged[name] == ec {
		delete(e.engaged, name)
	}
	e.mu.Unlock()
	e.opts.Log.Info("disengaged cluster", "cluster", name, "endpoint", ec.endpoint.url)
}
