package konnector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	mccontroller "sigs.k8s.io/multicluster-runtime/pkg/controller"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/syncspec"
)

// ConsumerClusterName is the name under which the engine's one source cluster, the consumer
// cluster the konnector runs in, is engaged; copies on the provider carry it in their marks.
const ConsumerClusterName = "consumer"

// unitOptions are what every unit of every connection shares.
type unitOptions struct {
	engine   mcmanager.Manager
	consumer cluster.Cluster
	sources  syncengine.SourceClusters
	log      logr.Logger
	notify   func(binding string)
	// reconcileTimeout bounds one reconcile of a sync controller; cacheSyncTimeout the wait for
	// the provider-side caches of a starting unit.
	reconcileTimeout, cacheSyncTimeout time.Duration
}

// Defaults of unitOptions.
const (
	defaultReconcileTimeout = time.Minute
	defaultCacheSyncTimeout = 2 * time.Minute
	// unitWorkers bounds the concurrent reconciles of one received API.
	unitWorkers = 4
)

// unitBackoff is the wait before a unit that failed starts again.
var unitBackoff = syncengine.RestartBackoff

// unitSet runs one sync controller per BoundAPI of a connection. A controller cannot be removed
// from a manager, so each runs unmanaged under its own context, engaged with the consumer
// cluster only: a changed BoundAPI stops its old unit before the new one starts, and a failed
// unit is started again once its backoff has passed (at the reconcile its status asks for).
type unitSet struct {
	conn *connection
	o    unitOptions

	mu    sync.Mutex
	units map[string]*unit
}

// unit is the sync controller of one BoundAPI. Its state fields are guarded by unitSet.mu.
type unit struct {
	fingerprint string
	kinds       syncengine.Kinds
	cancel      context.CancelFunc
	done        chan struct{}

	running bool
	// invalid is set when the BoundAPI cannot be compiled: it is not retried until it changes.
	invalid bool
	// err is why the unit failed; retryAt is when it may start again; failures counts the failed
	// starts of this configuration in a row.
	err      error
	failures int
	retryAt  time.Time
}

// unitState is what a unit is doing.
type unitState int

const (
	unitStarting unitState = iota
	unitRunning
	unitFailed
)

// unitStatus reports a unit to the binding's Synced condition.
type unitStatus struct {
	kinds   syncengine.Kinds
	state   unitState
	err     error
	retryIn time.Duration
}

func newUnitSet(conn *connection, o unitOptions) *unitSet {
	return &unitSet{conn: conn, o: o, units: map[string]*unit{}}
}

// unitConfig is everything a unit is built from; its fingerprint decides whether the unit is
// replaced. The CRD is not in it: a schema change is the CRD's business, not the sync's.
type unitConfig struct {
	BoundAPI string
	Agent    string
	Group    string
	Kinds    syncengine.Kinds
	Naming   *syncagentv1alpha1.Naming
	Mutation *syncagentv1alpha1.Mutation
	Related  []syncagentv1alpha1.RelatedResource
}

// configFor is the unit configuration of api for a binding whose sync marks are agent's and
// whose APIs are received under group ("" keeps the provider's).
func configFor(api *bindv1alpha1.BoundAPI, agent, group string) unitConfig {
	s := api.Spec
	cfg := unitConfig{
		BoundAPI: api.Name, Agent: agent, Group: group,
		Kinds: syncengine.Kinds{
			Source:                gvkOf(s.ConsumerKind),
			Destination:           gvkOf(s.ProviderKind),
			DestinationNamespaced: true,
			CopiesStatus:          s.CopiesStatus,
		},
		Naming: s.Naming, Mutation: s.Mutation, Related: s.Related,
	}
	if group != "" {
		cfg.Kinds.Source.Group = group // as syncspec.WithConsumerGroup renames it, for reports
	}
	return cfg
}

func gvkOf(k bindv1alpha1.GroupVersionKind) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
}

func (c unitConfig) fingerprint() string {
	data, _ := json.Marshal(c) // plain data: always marshals
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// ensure runs the unit of cfg: it starts one, replaces one built from another configuration,
// restarts a failed one whose backoff has passed, and reports its state. It does not wait for a
// new unit to start.
func (s *unitSet) ensure(cfg unitConfig) unitStatus {
	fp := cfg.fingerprint()
	s.mu.Lock()
	defer s.mu.Unlock()
	failures := 0
	if u, ok := s.units[cfg.BoundAPI]; ok {
		if u.fingerprint == fp {
			if st, keep := u.status(); keep {
				return st
			}
			failures = u.failures
		} else {
			s.o.log.Info("BoundAPI changed; replacing its sync controller", "binding", s.conn.binding, "boundAPI", cfg.BoundAPI)
		}
		u.cancel()
		delete(s.units, cfg.BoundAPI)
	}
	u := s.start(cfg, fp)
	u.failures = failures
	s.units[cfg.BoundAPI] = u
	st, _ := u.status()
	return st
}

// status reports u, and whether it stays as it is (false: failed, and its backoff has passed).
func (u *unit) status() (unitStatus, bool) {
	st := unitStatus{kinds: u.kinds}
	switch {
	case u.err == nil && u.running:
		st.state = unitRunning
	case u.err == nil:
		st.state = unitStarting
	case u.invalid || time.Now().Before(u.retryAt):
		st.state, st.err = unitFailed, u.err
		if !u.invalid {
			st.retryIn = time.Until(u.retryAt)
		}
	default:
		return st, false
	}
	return st, true
}

// start builds and starts the unit of cfg. A configuration that does not compile gives an
// invalid unit, reported until the BoundAPI changes. Callers hold s.mu.
func (s *unitSet) start(cfg unitConfig, fp string) *unit {
	ctx, cancel := context.WithCancel(s.conn.ctx)
	u := &unit{fingerprint: fp, kinds: cfg.Kinds, cancel: cancel, done: make(chan struct{})}
	ctrl, r, err := s.build(cfg)
	if err == nil {
		err = ctrl.Engage(ctx, ConsumerClusterName, s.o.consumer)
	}
	if err != nil {
		cancel()
		close(u.done)
		u.invalid, u.err = true, fmt.Errorf("BoundAPI %s: %w", cfg.BoundAPI, err)
		return u
	}
	go s.run(ctx, u, ctrl, r.CachedKinds(), cfg.BoundAPI)
	return u
}

// build compiles cfg into a Reconciler (the BoundAPI's naming, mutation and related entries as
// the syncagent compiles a PublishedResource) and its controller.
func (s *unitSet) build(cfg unitConfig) (mccontroller.Controller, *syncengine.Reconciler, error) {
	spec := syncagentv1alpha1.PublishedResourceSpec{Naming: cfg.Naming, Mutation: cfg.Mutation, Related: cfg.Related}
	compiled, err := syncspec.CompileForKinds(cfg.Kinds, spec, s.conn.kindOf, syncspec.WithConsumerGroup(cfg.Group))
	if err != nil {
		return nil, nil, err
	}
	r := &syncengine.Reconciler{
		Sources: s.o.sources, Destination: s.conn.cached, DestinationNamespace: s.conn.namespace, Agent: cfg.Agent,
	}
	compiled.Apply(r)
	name := "konnector-" + cfg.Agent + "-" + cfg.BoundAPI
	ctrl, err := syncengine.NewController(s.o.engine, r, syncengine.ControllerOptions{
		Name:             name,
		Logger:           s.o.log.WithValues("controller", name, "binding", s.conn.binding, "boundAPI", cfg.BoundAPI),
		DestinationCache: s.conn.cache,
		ReconcileTimeout: s.o.reconcileTimeout,
		Workers:          unitWorkers,
	})
	return ctrl, r, err
}

// run starts a unit's controller once the provider-side caches it reads are filled, and runs it
// until the unit is stopped; a unit that fails is recorded as failed.
func (s *unitSet) run(ctx context.Context, u *unit, ctrl mccontroller.Controller, cached []schema.GroupVersionKind, boundAPI string) {
	defer close(u.done)
	err := s.warmUp(ctx, cached)
	if err == nil {
		s.mu.Lock()
		u.running = true
		s.mu.Unlock()
		s.o.log.Info("sync controller started", "binding", s.conn.binding, "boundAPI", boundAPI,
			"consumerKind", u.kinds.Source.String(), "providerKind", u.kinds.Destination.String())
		s.o.notify(s.conn.binding)
		err = ctrl.Start(ctx)
	}
	if ctx.Err() != nil {
		return // stopped on purpose
	}
	if err == nil {
		err = fmt.Errorf("the controller stopped")
	}
	s.fail(u, boundAPI, err)
}

// warmUp makes sure the provider-side caches of the kinds a unit reads can be filled: a kind the
// Consumer's Role does not grant fails at once with the provider's answer, rather than as
// reconciles that wait on a cache.
func (s *unitSet) warmUp(ctx context.Context, kinds []schema.GroupVersionKind) error {
	for _, gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := s.conn.direct.List(ctx, list, client.InNamespace(s.conn.namespace), client.Limit(1)); err != nil {
			return fmt.Errorf("listing %s in namespace %s on the provider: %w", gvk.GroupKind(), s.conn.namespace, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.cacheSyncTimeout)
	defer cancel()
	for _, gvk := range kinds {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		if _, err := s.conn.cache.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("the provider's cache of %s did not fill within %s: %w", gvk.GroupKind(), s.o.cacheSyncTimeout, err)
		}
	}
	return nil
}

// fail records that u failed and schedules its restart.
func (s *unitSet) fail(u *unit, boundAPI string, err error) {
	s.mu.Lock()
	if s.units[boundAPI] != u {
		s.mu.Unlock()
		return
	}
	u.cancel()
	u.running, u.err = false, err
	u.failures++
	backoff := unitBackoff(u.failures)
	u.retryAt = time.Now().Add(backoff)
	failures := u.failures
	s.mu.Unlock()
	s.o.log.Error(err, "sync controller failed; restarting it with backoff", "binding", s.conn.binding, "boundAPI", boundAPI, "failures", failures, "retryIn", backoff)
	s.o.notify(s.conn.binding)
}

// stopWait bounds how long a stop waits for a unit's reconciles to finish.
const stopWait = time.Minute

// retain stops the units of BoundAPIs not in keep and returns the kinds they synced.
func (s *unitSet) retain(keep map[string]bool) []syncengine.Kinds {
	s.mu.Lock()
	var stopped []*unit
	for name, u := range s.units {
		if !keep[name] {
			u.cancel()
			delete(s.units, name)
			stopped = append(stopped, u)
		}
	}
	s.mu.Unlock()
	return s.wait(stopped)
}

// stopAll stops every unit and returns the kinds they synced.
func (s *unitSet) stopAll() []syncengine.Kinds { return s.retain(nil) }

// wait waits until the stopped units' reconciles have finished, so that none adds a finalizer
// after the caller removed them.
func (s *unitSet) wait(stopped []*unit) []syncengine.Kinds {
	kinds := make([]syncengine.Kinds, 0, len(stopped))
	deadline := time.After(stopWait)
	for _, u := range stopped {
		select {
		case <-u.done:
		case <-deadline:
			s.o.log.Info("a sync controller did not finish its reconciles in time", "binding", s.conn.binding, "waited", stopWait)
		}
		kinds = append(kinds, u.kinds)
	}
	return kinds
}
