package consumers

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/services"
	"github.com/bindery-dev/bindery/test/framework"
)

// The provider's kinds in testdata/crds.yaml.
var (
	databases = syncagentv1alpha1.SourceResource{APIGroup: "databases.example.com", Kind: "Database"}
	caches    = syncagentv1alpha1.SourceResource{APIGroup: "caches.example.com", Kind: "Cache"}
)

// env is what a test works with: an admin client of the provider cluster, a Provisioner as the
// backend has it, and a label value of its own that its Services select.
type env struct {
	t           *testing.T
	ctx         context.Context
	admin       client.Client
	provisioner *consumers.Provisioner
	label       string
}

// serviceLabel is the label the tests' Services select their PublishedResources by.
const serviceLabel = "e2e.bindery.dev/service"

func newEnv(t *testing.T) *env {
	admin := framework.NewClient(t, provider.Config())
	return &env{
		t: t, ctx: framework.Context(t), admin: admin,
		provisioner: &consumers.Provisioner{Client: admin, Config: provider.Config()},
		label:       framework.UniqueName("svc"),
	}
}

// startControllers runs the Service and Consumer reconcilers in a manager until the test ends.
func startControllers(t *testing.T) {
	t.Helper()
	mgr, err := manager.New(provider.Config(), manager.Options{
		Scheme:                 framework.Scheme,
		Logger:                 framework.Logger(t),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Every test runs the same controllers in a manager of its own.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&services.Reconciler{}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := (&consumers.Reconciler{}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// publish creates a PublishedResource of resource with the test's label, projected into a group
// of its own unless projection says otherwise.
func (e *env) publish(resource syncagentv1alpha1.SourceResource, projection *syncagentv1alpha1.Projection, related ...syncagentv1alpha1.RelatedResource) *syncagentv1alpha1.PublishedResource {
	e.t.Helper()
	if projection == nil {
		projection = &syncagentv1alpha1.Projection{}
	}
	if projection.Group == "" {
		projection.Group = framework.UniqueName("g") + ".consumer.test"
	}
	pr := &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName("pr"), Labels: map[string]string{serviceLabel: e.label}},
		Spec:       syncagentv1alpha1.PublishedResourceSpec{Resource: resource, Projection: projection, Related: related},
	}
	e.create(pr)
	return pr
}

// credentials is the Secret the provider's operator writes for each object, next to it.
func credentials() syncagentv1alpha1.RelatedResource {
	return syncagentv1alpha1.RelatedResource{
		Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
		Object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "{{ .Object.metadata.name }}-credentials"}},
	}
}

// service creates a Service that selects the test's PublishedResources.
func (e *env) service() *bindv1alpha1.Service {
	e.t.Helper()
	return e.serviceSelecting(metav1.LabelSelector{MatchLabels: map[string]string{serviceLabel: e.label}})
}

func (e *env) serviceSelecting(selector metav1.LabelSelector) *bindv1alpha1.Service {
	e.t.Helper()
	svc := &bindv1alpha1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName("svc")},
		Spec:       bindv1alpha1.ServiceSpec{Title: "Databases", PublishedResources: selector},
	}
	e.create(svc)
	return svc
}

// create creates obj and deletes it when the test ends.
func (e *env) create(obj client.Object) {
	e.t.Helper()
	if err := e.admin.Create(e.ctx, obj); err != nil {
		e.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	e.t.Cleanup(func() {
		if err := e.admin.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
			e.t.Logf("deleting %s: %v", obj.GetName(), err)
		}
	})
}

// bindDatabases publishes Databases with their credentials Secret in a Service of the test's,
// and binds it for alice's cluster-1.
func (e *env) bindDatabases() (*bindv1alpha1.Service, *bindv1alpha1.Consumer, *services.Resolved) {
	e.t.Helper()
	e.publish(databases, nil, credentials())
	svc := e.service()
	consumer, resolved := e.bind(user("alice"), "cluster-1", svc.Name)
	return svc, consumer, resolved
}

// databaseList is an empty list of the provider's Databases.
func databaseList() *unstructured.UnstructuredList {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("databases.example.com/v1")
	list.SetKind("DatabaseList")
	return list
}

// user is an identity as the trusted issuer vouches for it, with a subject of its own.
func user(name string) bindv1alpha1.ConsumerIdentity {
	return bindv1alpha1.ConsumerIdentity{Issuer: "https://issuer.e2e.test", Subject: framework.UniqueName(name), Username: "oidc:" + name}
}

func cluster(id string) bindv1alpha1.ConsumerCluster {
	return bindv1alpha1.ConsumerCluster{ID: id, Name: "kind-" + id}
}

// bind binds the Service and fails the test if that fails. The Consumer is deleted (and revoked,
// if a Consumer reconciler runs) when the test ends.
func (e *env) bind(identity bindv1alpha1.ConsumerIdentity, clusterID, service string) (*bindv1alpha1.Consumer, *services.Resolved) {
	e.t.Helper()
	consumer, resolved, err := e.provisioner.Bind(e.ctx, identity, cluster(clusterID), service)
	if err != nil {
		e.t.Fatalf("binding %s for %s: %v", service, identity.Username, err)
	}
	e.t.Cleanup(func() { e.releaseConsumer(consumer.Name) })
	return consumer, resolved
}

// releaseConsumer deletes a Consumer left by a test, and takes its finalizer off in case no
// reconciler revokes it. Deleting first keeps a reconciler that still runs from adding the
// finalizer again.
func (e *env) releaseConsumer(name string) {
	ctx := context.Background()
	consumer := &bindv1alpha1.Consumer{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.admin.Delete(ctx, consumer); err != nil {
		return
	}
	if err := e.admin.Get(ctx, client.ObjectKey{Name: name}, consumer); err != nil {
		return
	}
	patch := client.MergeFrom(consumer.DeepCopy())
	consumer.Finalizers = nil
	if err := e.admin.Patch(ctx, consumer, patch); client.IgnoreNotFound(err) != nil {
		e.t.Logf("releasing Consumer %s: %v", name, err)
	}
}

// clientFor returns a client that authenticates with the kubeconfig.
func (e *env) clientFor(kubeconfig []byte) client.Client {
	e.t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		e.t.Fatalf("reading the kubeconfig: %v", err)
	}
	return framework.NewClient(e.t, cfg)
}

// allowed asks the provider's authorizer whether user may do what attrs say.
func (e *env) allowed(username string, attrs authorizationv1.ResourceAttributes) bool {
	e.t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: username, ResourceAttributes: &attrs,
	}}
	if err := e.admin.Create(e.ctx, review); err != nil {
		e.t.Fatalf("SubjectAccessReview: %v", err)
	}
	return review.Status.Allowed
}

// waitForReady waits until obj's Ready condition has status and reason for its generation.
func (e *env) waitForReady(obj client.Object, conditions func() []metav1.Condition, status metav1.ConditionStatus, reason string) *metav1.Condition {
	e.t.Helper()
	var ready *metav1.Condition
	framework.WaitFor(e.t, 30*time.Second, "Ready "+string(status)+" "+reason+" on "+obj.GetName(), func(ctx context.Context) (bool, string, error) {
		if err := e.admin.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, "", err
		}
		ready = meta.FindStatusCondition(conditions(), "Ready")
		if ready == nil {
			return false, "no Ready condition", nil
		}
		return ready.Status == status && ready.Reason == reason && ready.ObservedGeneration == obj.GetGeneration(), ready.Reason + ": " + ready.Message, nil
	})
	return ready
}

// installCRD creates a CRD in the provider cluster, waits until it is established, and deletes it when the test ends.
func (e *env) installCRD(crd *apiextensionsv1.CustomResourceDefinition) {
	e.t.Helper()
	e.create(crd)
	framework.WaitFor(e.t, 30*time.Second, "CRD "+crd.Name+" to be established", func(ctx context.Context) (bool, string, error) {
		if err := e.admin.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return false, "", err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, "not established", nil
	})
}
