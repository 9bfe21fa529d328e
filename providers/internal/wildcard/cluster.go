package wildcard

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
)

// Cluster is one logical cluster behind a wildcard endpoint, as a controller-runtime
// cluster.Cluster. Its cache is a ScopedCache over the shared informers (GetClient reads typed and
// unstructured objects from it); its clients talk to
// <url>/clusters/<name> through the endpoint's shared HTTP client and REST mapper. Clients and
// event recorders are built on first use, so an engaged cluster that no controller touches costs
// only a few small structs.
type Cluster struct {
	name   logicalcluster.Name
	shared *Cache
	cache  *ScopedCache
	config *rest.Config

	clientOnce sync.Once
	client     client.Client
	reader     client.Reader

	// recordersMu guards recorders and stopped: a controller may ask for a recorder for the
	// first time while the cluster is being disengaged.
	recordersMu sync.Mutex
	recorders   *recorders
	stopped     bool
}

var _ cluster.Cluster = &Cluster{}

// NewCluster returns the cluster view of one logical cluster.
func (c *Cache) NewCluster(name logicalcluster.Name) *Cluster {
	return &Cluster{
		name:   name,
		shared: c,
		cache:  c.ForCluster(name),
		config: ClusterConfig(c.base, name.String()),
	}
}

func (c *Cluster) GetHTTPClient() *http.Client          { return c.shared.opts.HTTPClient }
func (c *Cluster) GetConfig() *rest.Config              { return rest.CopyConfig(c.config) }
func (c *Cluster) GetCache() cache.Cache                { return c.cache }
func (c *Cluster) GetScheme() *runtime.Scheme           { return c.shared.opts.Scheme }
func (c *Cluster) GetFieldIndexer() client.FieldIndexer { return c.cache }
func (c *Cluster) GetRESTMapper() meta.RESTMapper       { return c.shared.opts.Mapper }

// GetClient returns a client that reads from the cluster's cache and writes to the cluster.
func (c *Cluster) GetClient() client.Client {
	c.buildClients()
	return c.client
}

// GetAPIReader returns a client that reads from the API server, bypassing the cache.
func (c *Cluster) GetAPIReader() client.Reader {
	c.buildClients()
	return c.reader
}

// buildClients creates the clients on first use. New already built a client for the same host
// with the same options, so an error here is a programming error.
func (c *Cluster) buildClients() {
	c.clientOnce.Do(func() {
		opts := client.Options{HTTPClient: c.GetHTTPClient(), Scheme: c.GetScheme(), Mapper: c.GetRESTMapper()}
		reader, err := client.New(c.config, opts)
		if err != nil {
			panic(fmt.Sprintf("building the API reader of cluster %s: %v", c.name, err))
		}
		// Unstructured reads come from the shared informers too: controllers over exported APIs
		// usually have no Go types for them, and reading through the virtual workspace for every
		// reconcile would cost a request each.
		opts.Cache = &client.CacheOptions{Reader: c.cache, Unstructured: true}
		cached, err := client.New(c.config, opts)
		if err != nil {
			panic(fmt.Sprintf("building the client of cluster %s: %v", c.name, err))
		}
		c.client, c.reader = cached, reader
	})
}

// GetEventRecorderFor returns a recorder writing core/v1 Events into the logical cluster.
func (c *Cluster) GetEventRecorderFor(name string) record.EventRecorder {
	return c.eventRecorders().legacy.NewRecorder(c.GetScheme(), corev1EventSource(name))
}

// GetEventRecorder returns a recorder writing events.k8s.io/v1 Events into the logical cluster.
func (c *Cluster) GetEventRecorder(name string) events.EventRecorder {
	return c.eventRecorders().current.NewRecorder(c.GetScheme(), name)
}

// Start blocks until ctx ends, then stops the cluster's event broadcasters. The shared informers
// keep running for the other clusters.
func (c *Cluster) Start(ctx context.Context) error {
	<-ctx.Done()
	c.recordersMu.Lock()
	defer c.recordersMu.Unlock()
	c.stopped = true
	if c.recorders != nil {
		c.recorders.stop()
	}
	return nil
}

// recorders are the two event broadcasters of a cluster, created on first use.
type recorders struct {
	legacy  record.EventBroadcaster
	current events.EventBroadcaster
	cancel  context.CancelFunc
}

// eventRecorders returns the cluster's broadcasters, creating them on first use. Once the cluster
// is stopped, new ones are shut down at once (their events are dropped), so none outlives it.
func (c *Cluster) eventRecorders() *recorders {
	c.recordersMu.Lock()
	defer c.recordersMu.Unlock()
	if c.recorders == nil {
		c.recorders = c.newRecorders()
		if c.stopped {
			c.recorders.stop()
		}
	}
	return c.recorders
}

func (c *Cluster) newRecorders() *recorders {
	r := &recorders{legacy: record.NewBroadcaster()}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	// The same config already built the cluster's clients, so this cannot fail in practice;
	// if it does, events are dropped rather than failing the controller.
	if clientset, err := kubernetes.NewForConfigAndClient(c.config, c.GetHTTPClient()); err == nil {
		r.legacy.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: clientset.CoreV1().Events("")})
		r.current = events.NewBroadcaster(&events.EventSinkImpl{Interface: clientset.EventsV1()})
		_ = r.current.StartRecordingToSinkWithContext(ctx)
	} else {
		r.current = events.NewBroadcaster(nil)
	}
	return r
}

func (r *recorders) stop() {
	r.legacy.Shutdown()
	r.cancel()
	r.current.Shutdown()
}

func corev1EventSource(component string) corev1.EventSource {
	return corev1.EventSource{Component: component}
}
