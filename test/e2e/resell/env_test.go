package resell

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// The accounts of the two embedded issuers: A's backend signs in the resellers, B1's its own
// consumers (carol runs C1, dave C2).
var (
	resellerOne = framework.DevUser{Name: "reseller-one", Password: "reseller-one-password"}
	resellerTwo = framework.DevUser{Name: "reseller-two", Password: "reseller-two-password"}
	carol       = framework.DevUser{Name: "carol", Password: "carol-password"}
	dave        = framework.DevUser{Name: "dave", Password: "dave-password"}
)

const (
	usersOfA  = "reseller-one:reseller-one-password,reseller-two:reseller-two-password"
	usersOfB1 = "carol:carol-password,dave:dave-password"

	// serviceOfA and serviceOfB1 are the Services A and B1 offer; groupOfA and groupOfB1 the
	// groups their consumers receive the Databases under.
	serviceOfA, serviceOfB1 = "databases", "resold-databases"
	groupOfA, groupOfB1     = "databases.a.example", "databases.b1.example"
)

// providerKind is the example operator's Database in A's cluster.
var providerKind = schema.GroupVersionKind{Group: "db.provider.example", Version: "v1alpha1", Kind: "Database"}

// cluster is one party's Kubernetes cluster.
type cluster struct {
	name   string
	kube   *servers.Kube
	client client.Client
	// konnector is its bindery-konnector, if it binds a Service.
	konnector *framework.Process
}

func (c *cluster) startKonnector(t *testing.T) {
	t.Helper()
	c.konnector = framework.StartKonnector(t, c.kube.Config())
}

// binding is one consumer cluster's bind of a Service at a provider.
type binding struct {
	// kind is what the consumer cluster receives the Databases as.
	kind schema.GroupVersionKind
	// consumer and namespace are its Consumer and that Consumer's namespace on the provider;
	// credential is what its konnector reaches them with.
	consumer, namespace string
	credential          client.Client
	object              *bindv1alpha1.ServiceBinding
}

// chain is the whole resell scenario: A offers Databases; B1 and B2 bind them; B1 offers what it
// received to C1 and C2.
type chain struct {
	a, b1, b2, c1, c2 *cluster
	// b1AtA is B1's binding at A, and so on.
	b1AtA, b2AtA, c1AtB1, c2AtB1 *binding
	backendOfA, backendOfB1      string
	// t is the test the chain lives as long as: a process a subtest starts again (a konnector
	// it killed) is the chain's, not the subtest's, to outlive the subtest's own cleanups.
	t *testing.T
}

// newChain starts the five clusters, A's operator and backend, the konnectors and B1's backend,
// and binds B1 and B2 to A and C1 and C2 to B1, each binding Ready.
func newChain(t *testing.T, backendOfB1Args ...string) *chain {
	t.Helper()
	ctx := framework.Context(t)
	issuerOfA := prepareIssuer(t)
	issuerOfB1 := prepareIssuer(t)
	clusters := startClusters(t, map[string]*framework.Issuer{"a": issuerOfA, "b1": issuerOfB1, "b2": nil, "c1": nil, "c2": nil})
	ch := &chain{a: clusters["a"], b1: clusters["b1"], b2: clusters["b2"], c1: clusters["c1"], c2: clusters["c2"], t: t}

	t.Log("A offers Databases, run by its operator")
	framework.StartProcess(t, "database-operator", framework.Binary(t, "./examples/database-operator"),
		"--kubeconfig", framework.WriteKubeconfig(t, "operator", ch.a.kube.Config()), "--install-crd=false")
	offer(t, ch.a.client, serviceOfA, syncagentv1alpha1.SourceResource{APIGroup: providerKind.Group, Kind: providerKind.Kind}, groupOfA,
		syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "{{ .Object.metadata.name }}-credentials"}},
		resellerOne, resellerTwo)
	ch.backendOfA = startBackend(t, ch.a, issuerOfA, usersOfA)
	waitServiceReady(t, ch.a.client, serviceOfA)

	t.Log("B1 and B2 bind A's Databases with their konnectors")
	ch.b1AtA = bind(t, ch.b1, ch.backendOfA, resellerOne, serviceOfA)
	ch.b2AtA = bind(t, ch.b2, ch.backendOfA, resellerTwo, serviceOfA)

	t.Log("B1 offers the Databases it received under its own group, with its own backend")
	// The credentials Secret reaches B1 under the name of the operator's Secret on A, which the
	// status names: B1's PublishedResource finds it by that reference.
	offer(t, ch.b1.client, serviceOfB1, syncagentv1alpha1.SourceResource{APIGroup: groupOfA, Kind: providerKind.Kind}, groupOfB1,
		syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "status.credentialsSecretRef.name"}},
		carol, dave)
	ch.backendOfB1 = startBackend(t, ch.b1, issuerOfB1, usersOfB1, backendOfB1Args...)
	waitServiceReady(t, ch.b1.client, serviceOfB1)

	t.Log("C1 and C2 bind B1's Databases with their konnectors")
	ch.c1AtB1 = bind(t, ch.c1, ch.backendOfB1, carol, serviceOfB1)
	ch.c2AtB1 = bind(t, ch.c2, ch.backendOfB1, dave, serviceOfB1)
	for _, c := range []*cluster{ch.c1, ch.c2, ch.b2} {
		if err := c.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
			t.Fatal(err)
		}
	}
	return ch
}

// prepareIssuer makes the CA of an embedded issuer that a cluster trusts from its start.
func prepareIssuer(t *testing.T) *framework.Issuer {
	t.Helper()
	issuer, remove, err := framework.PrepareIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remove)
	return issuer
}

// startClusters starts a kube-apiserver per name at once, each with bindery's CRDs (and A with
// the operator's), trusting the issuer given for it.
func startClusters(t *testing.T, issuers map[string]*framework.Issuer) map[string]*cluster {
	t.Helper()
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		out  = map[string]*cluster{}
	)
	for name, issuer := range issuers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := servers.KubeOptions{CRDPaths: []string{filepath.Join(root, "deploy/crd")}}
			if name == "a" {
				opts.CRDPaths = append(opts.CRDPaths, filepath.Join(root, "examples/database-operator/config/crd.yaml"))
			}
			if issuer != nil {
				opts.AuthenticationConfig = framework.AuthenticationConfig(issuer.URL(), issuer.CA, "bindery-backend")
			}
			kube, err := servers.StartKube(opts)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("cluster %s: %w", name, err))
				return
			}
			out[name] = &cluster{name: name, kube: kube}
		}()
	}
	wg.Wait()
	for _, c := range out {
		t.Cleanup(func() { _ = c.kube.Stop() })
		c.client = framework.NewClient(t, c.kube.Config())
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting the clusters: %v", err)
	}
	return out
}

// offer publishes the resource of a provider cluster under group, with a credentials Secret found
// by related, as a Service that users may bind.
func offer(t *testing.T, c client.Client, service string, resource syncagentv1alpha1.SourceResource, group string,
	related syncagentv1alpha1.RelatedObjectSelector, users ...framework.DevUser) {
	t.Helper()
	ctx := framework.Context(t)
	label := map[string]string{"e2e.bindery.dev/service": service}
	objects := []client.Object{
		&syncagentv1alpha1.PublishedResource{
			ObjectMeta: metav1.ObjectMeta{Name: service, Labels: label},
			Spec: syncagentv1alpha1.PublishedResourceSpec{
				Resource:   resource,
				Projection: &syncagentv1alpha1.Projection{Group: group},
				Related: []syncagentv1alpha1.RelatedResource{{
					Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets", Object: related,
				}},
			},
		},
		&bindv1alpha1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: service},
			Spec:       bindv1alpha1.ServiceSpec{Title: "Databases", PublishedResources: metav1.LabelSelector{MatchLabels: label}},
		},
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "bind-" + service},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{bindv1alpha1.GroupVersion.Group}, Resources: []string{"services"}, Verbs: []string{"bind"}, ResourceNames: []string{service}}},
		},
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bind-" + service},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "bind-" + service},
	}
	for _, u := range users {
		crb.Subjects = append(crb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: u.Username()})
	}
	for _, obj := range append(objects, crb) {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("offering %s: creating %T: %v", service, obj, err)
		}
	}
}

// waitServiceReady waits until the provider's backend has found the Service Ready.
func waitServiceReady(t *testing.T, c client.Client, service string) {
	t.Helper()
	svc := &bindv1alpha1.Service{}
	framework.WaitFor(t, time.Minute, "Service "+service+" to be Ready", func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: service}, svc); err != nil {
			return false, "", err
		}
		ready := meta.FindStatusCondition(svc.Status.Conditions, bindv1alpha1.ServiceConditionReady)
		if ready == nil {
			return false, "not checked yet", nil
		}
		return ready.Status == metav1.ConditionTrue, ready.Reason + ": " + ready.Message, nil
	})
}

// startBackend runs bindery-backend for the provider cluster with the embedded issuer and the
// users, and returns its URL.
func startBackend(t *testing.T, provider *cluster, issuer *framework.Issuer, users string, extraArgs ...string) string {
	t.Helper()
	// The namespace of the session key Secret, as the chart creates it.
	if err := provider.client.Create(framework.Context(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bindery-system"}}); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	framework.StartProcess(t, "bindery-backend-"+provider.name, framework.Binary(t, "./cmd/bindery-backend"), append([]string{
		"--kubeconfig", framework.WriteKubeconfig(t, "backend-"+provider.name, provider.kube.Config()),
		"--listen-address", listen, "--title", "Databases of " + provider.name,
		"--dev-oidc", "--dev-oidc-address", issuer.Address, "--dev-oidc-users", users, "--dev-oidc-state-dir", issuer.StateDir,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
	}, extraArgs...)...)
	url := "http://" + listen
	framework.WaitFor(t, time.Minute, "bindery-backend of "+provider.name+" to serve", func(context.Context) (bool, string, error) {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
	return url
}

// bind signs u in at the backend in a headless browser, binds the Service into the consumer
// cluster as kubectl bindery bind does, starts the cluster's konnector and waits until the
// binding is Ready.
func bind(t *testing.T, consumer *cluster, backendURL string, u framework.DevUser, service string) *binding {
	t.Helper()
	session := framework.SignIn(t, framework.Browser(t, true), backendURL, u.Name, u.Password, "", nil)
	bound, object := framework.BindInto(t, consumer.client, backendURL, session, service, "")
	if len(bound.Resources) != 1 || len(bound.Resources[0].Consumer.Versions) == 0 {
		t.Fatalf("binding %s returned %+v, want the Databases", service, bound.Resources)
	}
	r := bound.Resources[0].Consumer
	cfg, err := clientcmd.RESTConfigFromKubeConfig(bound.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	consumer.startKonnector(t)
	framework.WaitBindingReady(t, consumer.client, object)
	return &binding{
		kind:     schema.GroupVersionKind{Group: r.Group, Version: r.Versions[0], Kind: r.Kind},
		consumer: bound.Consumer, namespace: bound.Namespace, credential: framework.NewClient(t, cfg), object: object,
	}
}

// list lists the objects of a kind, in namespace if not empty.
func list(ctx context.Context, c client.Client, kind schema.GroupVersionKind, namespace string) ([]unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(kind.GroupVersion().WithKind(kind.Kind + "List"))
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	err := c.List(ctx, l, opts...)
	return l.Items, err
}

func errString(err error) string {
	if err == nil {
		return "allowed"
	}
	return err.Error()
}
