package konnectorbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
	"github.com/bindery-dev/bindery/pkg/services"
	"github.com/bindery-dev/bindery/test/bench/internal/measure"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// The provider's API: the example operator's Database CRD.
const (
	databaseCRD = "examples/database-operator/config/crd.yaml"
	// providerGroup and providerVersion are the provider's Database API.
	providerGroup   = "db.provider.example"
	providerVersion = "v1alpha1"
	// consumerNamespace holds every object of the workload in the consumer cluster (and, for the
	// raw creates, in the provider cluster).
	consumerNamespace = "bench"
)

var databasesGVR = schema.GroupVersionResource{Group: providerGroup, Version: providerVersion, Resource: "databases"}

// target is one system, set up and warmed up: where the workload creates its objects, and where
// their copies are watched for.
type target struct {
	// create is where the objects are created (the consumer cluster, or the provider for raw),
	// as gvr (a Database API), in consumerNamespace.
	create *rest.Config
	gvr    schema.GroupVersionResource
	copies *measure.Copies
	// servers are the clusters whose requests the pass counts, by role.
	servers map[string]*rest.Config
	// procs are the processes whose CPU time the pass measures; konnector is nil for raw.
	procs     measure.Processes
	konnector *framework.Process
}

// clusters starts a fresh provider and consumer cluster for one pass: the provider with the
// Database CRD and providerCRDs, the consumer with consumerCRDs (absolute paths).
func clusters(p *phase, providerCRDs, consumerCRDs []string) (provider, consumer *servers.Kube, procs measure.Processes) {
	root, err := servers.RepoRoot()
	if err != nil {
		p.Fatal(err)
	}
	procs = measure.Processes{"benchmark": os.Getpid()}
	start := func(role string, crds []string) *servers.Kube {
		kube, err := servers.StartKube(servers.KubeOptions{CRDPaths: crds})
		if err != nil {
			p.Fatalf("starting the %s kube-apiserver: %v", role, err)
		}
		p.Cleanup(func() {
			if err := kube.Stop(); err != nil {
				p.Logf("stopping the %s cluster: %v", role, err)
			}
		})
		measure.ServerProcesses(p, role, kube.Config(), procs)
		return kube
	}
	provider = start("provider", append([]string{filepath.Join(root, databaseCRD)}, providerCRDs...))
	consumer = start("consumer", consumerCRDs)
	return provider, consumer, procs
}

// startRaw is the baseline: the same creates straight against the provider kube-apiserver. The
// consumer cluster idles, so that each pass runs next to the same servers.
func startRaw(p *phase) *target {
	provider, consumer, procs := clusters(p, nil, nil)
	admin := framework.NewClient(p, provider.Config())
	createNamespace(p, admin, consumerNamespace)
	t := &target{
		create: provider.Config(), gvr: databasesGVR,
		copies:  measure.WatchCopies(p, provider.Config(), databasesGVR, consumerNamespace, sourceName),
		servers: map[string]*rest.Config{"provider": provider.Config(), "consumer": consumer.Config()},
		procs:   procs,
	}
	warmUp(p, t)
	return t
}

// startBindery binds the Databases into the consumer cluster as bindery-backend would, without
// its OIDC login: the Service and Consumer reconcilers run in this process, the Consumer and its
// credential come from a Provisioner, and bindery-konnector runs as a process.
func startBindery(p *phase) *target {
	root, err := servers.RepoRoot()
	if err != nil {
		p.Fatal(err)
	}
	provider, consumer, procs := clusters(p, []string{filepath.Join(root, "deploy/crd")}, []string{filepath.Join(root, "deploy/crd")})
	admin := framework.NewClient(p, provider.Config())
	runBackendControllers(p, provider.Config())

	labels := map[string]string{"bench.bindery.dev/service": "databases"}
	mustCreate(p, admin, &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "databases", Labels: labels},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: providerGroup, Kind: "Database"},
			Projection: &syncagentv1alpha1.Projection{Group: "databases.bench.example"},
		},
	})
	svc := &bindv1alpha1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "databases"},
		Spec:       bindv1alpha1.ServiceSpec{Title: "Databases", PublishedResources: metav1.LabelSelector{MatchLabels: labels}},
	}
	mustCreate(p, admin, svc)
	framework.WaitReady(p, admin, svc, func() []metav1.Condition { return svc.Status.Conditions })

	consumerClient := framework.NewClient(p, consumer.Config())
	bound := framework.ProvisionBinding(p, &consumers.Provisioner{Client: admin, Config: provider.Config()}, consumerClient, svc.Name)
	received := bound.Resources[0].Consumer
	binding := framework.WriteBinding(p, consumerClient, "https://backend.bench.invalid", svc.Name, bound, "")
	konnector := framework.StartKonnector(p, consumer.Config())
	procs["konnector"] = konnector.Pid()
	framework.WaitReady(p, consumerClient, binding, func() []metav1.Condition { return binding.Status.Conditions })

	createNamespace(p, consumerClient, consumerNamespace)
	t := &target{
		create: consumer.Config(), gvr: schema.GroupVersionResource{Group: received.Group, Version: received.Versions[0], Resource: received.Resource},
		copies:  measure.WatchCopies(p, provider.Config(), databasesGVR, bound.Namespace, sourceName),
		servers: map[string]*rest.Config{"provider": provider.Config(), "consumer": consumer.Config()},
		procs:   procs, konnector: konnector,
	}
	warmUp(p, t)
	return t
}

// runBackendControllers runs bindery-backend's Service and Consumer reconcilers (which write the
// Service's status and the Consumer's BoundAPIs) in this process until the pass ends.
func runBackendControllers(p *phase, provider *rest.Config) {
	mgr, err := manager.New(provider, manager.Options{
		Scheme:                 framework.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// A second run of the benchmark in the same process registers the same controllers again.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		p.Fatal(err)
	}
	if err := (&services.Reconciler{}).SetupWithManager(mgr); err != nil {
		p.Fatal(err)
	}
	if err := (&consumers.Reconciler{}).SetupWithManager(mgr); err != nil {
		p.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	p.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			p.Errorf("the backend's controllers: %v", err)
		}
	})
}

// kube-bind's konnector, set up as hack/tools/kube-bind/README.md says.
const (
	kubeBindGroup   = "kube-bind.io"
	kubeBindVersion = "v1alpha2"
	// clusterNamespace is the provider namespace of the one consumer cluster.
	clusterNamespace = "kube-bind-c1"
	// serviceNamespace is the provider namespace the backend (this benchmark) assigns to the
	// consumer's namespace, named as kube-bind's backend names it.
	serviceNamespace = clusterNamespace + "-" + consumerNamespace
)

// kubeBind is kube-bind's konnector, built, with the folder of its module's CRDs.
type kubeBind struct {
	binary, crds string
}

// buildKubeBind builds kube-bind's konnector v0.8.2 with hack/tools.sh (cached per user) and
// finds its module's CRDs. A failure says which module could not be had.
func buildKubeBind(b *testing.B) kubeBind {
	root, err := servers.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	build := exec.Command(filepath.Join(root, "hack/tools.sh"), "kube-bind")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("kube-bind's konnector v0.8.2 cannot be built here (hack/tools.sh kube-bind: %v)%s\n%s", err, missingModules(out), out)
	}
	binary, err := servers.ToolPath("konnector-kube-bind")
	if err != nil {
		b.Fatal(err)
	}
	download := exec.Command("go", "mod", "download", "-json", "github.com/kube-bind/kube-bind")
	download.Dir = filepath.Join(root, "hack/tools/kube-bind")
	download.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GONOSUMDB=github.com/kcp-dev,sigs.k8s.io/multicluster-runtime,github.com/kube-bind")
	out, err := download.Output()
	var module struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(out, &module); err != nil || jsonErr != nil || module.Dir == "" {
		b.Fatalf("the source of github.com/kube-bind/kube-bind (for its CRDs) cannot be had: %v %s%s", err, module.Error, missingModules(out))
	}
	return kubeBind{binary: binary, crds: filepath.Join(module.Dir, "deploy/crd")}
}

// missingModules picks from go's output the lines that name a module it could not fetch.
func missingModules(out []byte) string {
	pattern := regexp.MustCompile(`(?i)(not found|404|410|unrecognized import|reading .*@|missing go\.sum|no matching versions|unknown revision)`)
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if pattern.MatchString(line) {
			lines = append(lines, "  "+strings.TrimSpace(line))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "; missing:\n" + strings.Join(lines, "\n")
}

// startKubeBind sets up the same binding for kube-bind's konnector, playing its backend: the
// provider-side BoundSchema and APIServiceExport, an admin kubeconfig confined to the cluster
// namespace by its context, and the provider namespace for the consumer's namespace.
func (kb kubeBind) start(p *phase) *target {
	provider, consumer, procs := clusters(p, []string{kb.crds}, nil)
	ctx := framework.Context(p)
	admin := framework.NewClient(p, provider.Config())
	createNamespace(p, admin, clusterNamespace)
	var crd apiextensionsv1.CustomResourceDefinition
	if err := admin.Get(ctx, client.ObjectKey{Name: databasesGVR.GroupResource().String()}, &crd); err != nil {
		p.Fatal(err)
	}
	mustCreate(p, admin, boundSchema(p, &crd))
	mustCreate(p, admin, kubeBindObject("APIServiceExport", clusterNamespace, "databases", map[string]any{
		"resources":     []any{map[string]any{"group": providerGroup, "resource": "databases", "versions": []any{providerVersion}}},
		"informerScope": "Namespaced",
		"isolation":     "None",
	}))

	providerKubeconfig := kcpconfig.Kubeconfig(provider.Config(), "provider")
	providerKubeconfig.Contexts["provider"].Namespace = clusterNamespace
	kubeconfig, err := clientcmd.Write(*providerKubeconfig)
	if err != nil {
		p.Fatal(err)
	}
	consumerClient := framework.NewClient(p, consumer.Config())
	createNamespace(p, consumerClient, "kube-bind")
	mustCreate(p, consumerClient, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-bind", Name: "kubeconfig-c1"},
		Data:       map[string][]byte{"kubeconfig": kubeconfig},
	})
	konnector := framework.StartProcess(p, "konnector-kube-bind", kb.binary,
		"--kubeconfig", framework.WriteKubeconfig(p, "consumer", consumer.Config()),
		"--server-address", freeAddress(p), "-v", "0")
	procs["konnector"] = konnector.Pid()
	// The konnector installs the APIServiceBinding CRD at start.
	binding := kubeBindObject("APIServiceBinding", "", "databases", map[string]any{
		"kubeconfigSecretRef": map[string]any{"namespace": "kube-bind", "name": "kubeconfig-c1", "key": "kubeconfig"},
	})
	framework.CreateWhenServed(p, consumerClient, binding)
	framework.WaitFor(p, 2*time.Minute, "the APIServiceBinding to be Ready", func(ctx context.Context) (bool, string, error) {
		if err := consumerClient.Get(ctx, client.ObjectKeyFromObject(binding), binding); err != nil {
			return false, "", err
		}
		conditions, _, _ := unstructured.NestedSlice(binding.Object, "status", "conditions")
		for _, c := range conditions {
			if c, ok := c.(map[string]any); ok && c["type"] == "Ready" {
				return c["status"] == "True", fmt.Sprintf("%v: %v", c["reason"], c["message"]), nil
			}
		}
		return false, "no Ready condition", nil
	})

	createNamespace(p, consumerClient, consumerNamespace)
	t := &target{
		create: consumer.Config(), gvr: databasesGVR,
		copies:  measure.WatchCopies(p, provider.Config(), databasesGVR, serviceNamespace, sourceName),
		servers: map[string]*rest.Config{"provider": provider.Config(), "consumer": consumer.Config()},
		procs:   procs, konnector: konnector,
	}
	go assignServiceNamespace(p, admin)
	warmUp(p, t)
	return t
}

// assignServiceNamespace is kube-bind's backend for the consumer namespace: once the konnector
// asks for it with an APIServiceNamespace, it creates the provider namespace and reports it.
func assignServiceNamespace(p *phase, admin client.Client) {
	request := kubeBindObject("APIServiceNamespace", clusterNamespace, consumerNamespace, nil)
	ctx := framework.Context(p)
	for ctx.Err() == nil {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(request), request); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: serviceNamespace}}); client.IgnoreAlreadyExists(err) != nil {
		p.Errorf("creating namespace %s: %v", serviceNamespace, err)
		return
	}
	status := client.RawPatch(types.MergePatchType, []byte(`{"status":{"namespace":"`+serviceNamespace+`"}}`))
	if err := admin.Status().Patch(ctx, request, status); err != nil && ctx.Err() == nil {
		p.Errorf("reporting the APIServiceNamespace's namespace: %v", err)
	}
}

// boundSchema is kube-bind's copy of the provider's CRD that the konnector installs on the consumer.
func boundSchema(p *phase, crd *apiextensionsv1.CustomResourceDefinition) *unstructured.Unstructured {
	spec := map[string]any{"informerScope": "Namespaced"}
	fields := map[string]any{"group": crd.Spec.Group, "names": crd.Spec.Names, "scope": crd.Spec.Scope, "versions": crd.Spec.Versions}
	data, err := json.Marshal(fields) // CRD versions have the shape of BoundSchema versions
	if err != nil {
		p.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		p.Fatal(err)
	}
	return kubeBindObject("BoundSchema", clusterNamespace, crd.Name, spec)
}

func kubeBindObject(kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: kubeBindGroup, Version: kubeBindVersion, Kind: kind})
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

func createNamespace(p *phase, c client.Client, name string) {
	if err := c.Create(framework.Context(p), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); client.IgnoreAlreadyExists(err) != nil {
		p.Fatalf("creating namespace %s: %v", name, err)
	}
}

func mustCreate(p *phase, c client.Client, obj client.Object) {
	if err := c.Create(framework.Context(p), obj); err != nil {
		p.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// freeAddress returns a loopback address with a port nobody listens on now.
func freeAddress(p *phase) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// warmUp creates one object and waits for its copy: the API is served, the sync runs, the
// provider namespace exists, and nothing of that is in the measured time.
func warmUp(p *phase, t *target) {
	framework.CreateWhenServed(p, framework.NewClient(p, t.create), database(t.gvr, "warmup"))
	select {
	case <-t.copies.Await("warmup", 1):
	case <-time.After(3 * time.Minute):
		p.Fatal("the warm-up object's copy did not appear on the provider within 3 minutes")
	}
}

// database is one object of the workload, a Database of the API gvr.
func database(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"engine": "postgres", "storageGB": int64(1)},
	}}
	u.SetGroupVersionKind(gvr.GroupVersion().WithKind("Database"))
	u.SetNamespace(consumerNamespace)
	u.SetName(name)
	return u
}
