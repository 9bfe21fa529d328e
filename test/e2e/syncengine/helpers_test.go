package syncengine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

var (
	sourceWidget = schema.GroupVersionKind{Group: "source.test", Version: "v1", Kind: "Widget"}
	sourceGadget = schema.GroupVersionKind{Group: "source.test", Version: "v1", Kind: "Gadget"}
	destWidget   = schema.GroupVersionKind{Group: "dest.test", Version: "v1", Kind: "Widget"}
)

// sourceName is the cluster name the tests give the source cluster; under the default naming it
// is also the namespace of the copies in the destination cluster.
const sourceName = "consumer-1"

// pair is what a test works with: clients of both clusters, and the engine's view of the source.
type pair struct {
	source, destination client.Client
	sources             *sourceClusters
}

// newPair returns the shared clusters.
func newPair(t *testing.T) pair { return pairWith(t, sourceCluster) }

// pairWith returns source as the source cluster and the shared destination.
func pairWith(t *testing.T, source *servers.Kube) pair {
	t.Helper()
	src := framework.NewClient(t, source.Config())
	return pair{
		source:      src,
		destination: framework.NewClient(t, destinationCluster.Config()),
		sources:     &sourceClusters{client: src, events: recorderFor(t, source)},
	}
}

// sourceClusters serves the one source cluster under sourceName, until it is gone (disengaged,
// as a deleted workspace is).
type sourceClusters struct {
	client client.Client
	events record.EventRecorder
	gone   bool
}

func (s *sourceClusters) Cluster(_ context.Context, name string) (client.Client, record.EventRecorder, error) {
	if name != sourceName || s.gone {
		return nil, nil, fmt.Errorf("cluster %s: %w", name, multicluster.ErrClusterNotFound)
	}
	return s.client, s.events, nil
}

// recorderFor writes events into the source cluster, as the processes that run the engine do.
func recorderFor(t *testing.T, source *servers.Kube) record.EventRecorder {
	t.Helper()
	clientset, err := kubernetes.NewForConfig(source.Config())
	if err != nil {
		t.Fatal(err)
	}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: clientset.CoreV1().Events("")})
	t.Cleanup(broadcaster.Shutdown)
	return broadcaster.NewRecorder(framework.Scheme, corev1.EventSource{Component: "syncengine-e2e"})
}

// reconciler returns an engine for Widgets of the source into Widgets of the destination, with
// the default naming; tests change what they need.
func (p pair) reconciler(t *testing.T, agent string) *syncengine.Reconciler {
	t.Helper()
	namer, err := syncengine.NewNamer(syncengine.Naming{})
	if err != nil {
		t.Fatal(err)
	}
	return &syncengine.Reconciler{
		Sources: p.sources, Destination: p.destination, Agent: agent, Namer: namer,
		Kinds: syncengine.Kinds{Source: sourceWidget, Destination: destWidget, DestinationNamespaced: true, CopiesStatus: true},
	}
}

// newNamespace creates a namespace with a unique name in c.
func newNamespace(t *testing.T, c client.Client, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName(prefix)}}
	if err := c.Create(framework.Context(t), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// object returns an object of gvk with a spec.
func object(gvk schema.GroupVersionKind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	obj.SetGroupVersionKind(gvk)
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return obj
}

func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(framework.Context(t), obj); err != nil {
		t.Fatalf("creating %s %s: %v", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
}

// reconcile runs one pass of r for a source object and fails the test on an error.
func reconcile(t *testing.T, r *syncengine.Reconciler, namespace, name string) {
	t.Helper()
	if _, err := r.Reconcile(framework.Context(t), sourceName, types.NamespacedName{Namespace: namespace, Name: name}); err != nil {
		t.Fatalf("reconciling %s/%s: %v", namespace, name, err)
	}
}

// getObject reads an object of gvk; nil when it does not exist.
func getObject(t *testing.T, c client.Client, gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	err := c.Get(framework.Context(t), client.ObjectKey{Namespace: namespace, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// copiesOf lists the copies an agent made in the destination cluster.
func copiesOf(t *testing.T, c client.Client, agent string) []unstructured.Unstructured {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(destWidget.GroupVersion().WithKind("WidgetList"))
	if err := c.List(framework.Context(t), list, client.MatchingLabels{syncengine.AgentLabel: agent}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// deleteWithoutFinalizer removes the engine's finalizer from a source object by hand (as a
// consumer might) and deletes the object, so that the engine next finds it gone.
func deleteWithoutFinalizer(t *testing.T, c client.Client, gvk schema.GroupVersionKind, namespace, name string) {
	t.Helper()
	ctx := framework.Context(t)
	obj := getObject(t, c, gvk, namespace, name)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.SetFinalizers(nil)
	if err := c.Patch(ctx, obj, patch); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, obj); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 30*time.Second, name+" to be gone", func(context.Context) (bool, string, error) {
		return getObject(t, c, gvk, namespace, name) == nil, "", nil
	})
}

// staleReads is a client whose reads of one object return an earlier state of it, as a cache that
// has not caught up does; everything else, writes above all, goes to the real cluster.
type staleReads struct {
	client.Client
	key    client.ObjectKey
	gvk    schema.GroupVersionKind
	before *unstructured.Unstructured // nil: the object seems not to exist
}

func (s staleReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || key != s.key || u.GroupVersionKind() != s.gvk {
		return s.Client.Get(ctx, key, obj, opts...)
	}
	if s.before == nil {
		return apierrors.NewNotFound(schema.GroupResource{Group: s.gvk.Group, Resource: s.gvk.Kind}, key.Name)
	}
	s.before.DeepCopyInto(u)
	return nil
}

func (s staleReads) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if u, ok := list.(*unstructured.UnstructuredList); ok && s.before == nil && u.GroupVersionKind() == s.gvk.GroupVersion().WithKind(s.gvk.Kind+"List") {
		return nil // the cache has not seen the object yet
	}
	return s.Client.List(ctx, list, opts...)
}

// waitForEvent waits until a source object has an event with reason (the recorder writes in the
// background).
func waitForEvent(t *testing.T, c client.Client, namespace, name, reason string) {
	t.Helper()
	framework.WaitFor(t, 30*time.Second, "a "+reason+" event on "+name, func(context.Context) (bool, string, error) {
		reasons := eventReasons(t, c, namespace, name)
		return slices.Contains(reasons, reason), fmt.Sprint(reasons), nil
	})
}

// eventReasons lists the reasons of the events on a source object.
func eventReasons(t *testing.T, c client.Client, namespace, name string) []string {
	t.Helper()
	events := &corev1.EventList{}
	if err := c.List(framework.Context(t), events, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range events.Items {
		if e.InvolvedObject.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// setStatus writes the status of an object as its operator would, again on a conflict (the engine
// may write the object between the read and the update).
func setStatus(t *testing.T, c client.Client, gvk schema.GroupVersionKind, namespace, name string, status map[string]any) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := getObject(t, c, gvk, namespace, name)
		obj.Object["status"] = status
		return c.Status().Update(framework.Context(t), obj)
	})
	if err != nil {
		t.Fatalf("writing the status of %s: %v", name, err)
	}
}
