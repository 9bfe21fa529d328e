package twohopbench

import (
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/kcpapis"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/bench/internal/measure"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

const (
	// publishedGroup is the group the syncagent projects the provider's Databases to: the team
	// workspace binds them under it, and the team cluster receives them under it.
	publishedGroup = "databases.twohop.example"
	// teamNamespace holds the objects created in the team cluster, directNamespace those created
	// in the workspace itself (the syncagent's hop alone).
	teamNamespace, directNamespace = "bench", "direct"
	service                        = "databases"
)

// providerGVR is the example operator's Database in the provider cluster.
var providerGVR = schema.GroupVersionResource{Group: "db.provider.example", Version: "v1alpha1", Resource: "databases"}

// chain is team cluster -> team workspace -> provider cluster, set up and warmed up.
type chain struct {
	provider, team *servers.Kube
	workspace      *framework.Workspace
	agent          *framework.Process
	// workspaceGVR is the Databases as the workspace serves them (the bound API), teamGVR as the
	// team cluster serves them; consumerNamespace is the team cluster's Consumer namespace in the
	// workspace, where the konnector puts its copies.
	workspaceGVR, teamGVR schema.GroupVersionResource
	consumerNamespace     string
	// inWorkspace and onProvider see the copies arrive, keyed by copyKey.
	inWorkspace, onProvider *measure.Copies
	// procs are the processes whose CPU the passes measure; servers the API servers whose
	// requests they count (kcp through its shard admin).
	procs   measure.Processes
	servers map[string]*rest.Config
}

// newChain starts the provider cluster with bindery-syncagent publishing the example Database CRD
// into an APIExport, a team workspace that binds it and offers it as a Service with
// bindery-backend, and a team cluster bound to that Service with bindery-konnector; then sends one
// object through both hops and one through the syncagent's alone.
func newChain(b *testing.B) *chain {
	ctx := framework.Context(b)
	c := &chain{procs: measure.Processes{"benchmark": os.Getpid(), "kcp": framework.KCP(b).Pid()}}
	c.provider = framework.StartKube(b, "deploy/crd", "examples/database-operator/config/crd.yaml")
	c.team = framework.StartKube(b, "deploy/crd")
	measure.ServerProcesses(b, "provider", c.provider.Config(), c.procs)
	measure.ServerProcesses(b, "team", c.team.Config(), c.procs)
	shardAdmin, err := framework.KCP(b).ShardAdminConfig()
	if err != nil {
		b.Fatal(err)
	}
	c.servers = map[string]*rest.Config{"kcp": shardAdmin, "provider": c.provider.Config(), "team": c.team.Config()}

	// The provider publishes its Databases with the syncagent.
	providerClient := framework.NewClient(b, c.provider.Config())
	exporter := framework.NewWorkspace(b, "bench-dbteam")
	published := &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: service},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: providerGVR.Group, Kind: "Database"},
			Projection: &syncagentv1alpha1.Projection{Group: publishedGroup},
		},
	}
	mustCreate(b, providerClient, published)
	c.agent = framework.StartProcess(b, "bindery-syncagent", framework.Binary(b, "./cmd/bindery-syncagent"),
		"--kcp-kubeconfig", framework.WriteKubeconfig(b, "kcp", exporter.Config),
		"--kubeconfig", framework.WriteKubeconfig(b, "provider", c.provider.Config()),
		"--apiexport-endpoint-slice", service, "--agent-name", "bench",
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	c.procs["syncagent"] = c.agent.Pid()
	framework.WaitReady(b, providerClient, published, func() []metav1.Condition { return published.Status.Conditions })

	// The team binds the export and offers the Databases to its clusters.
	c.workspace = framework.NewWorkspace(b, "bench-team")
	framework.BindExport(b, c.workspace, exporter, service)
	framework.InstallCRDs(b, c.workspace.Config, "deploy/crd")
	labels := map[string]string{"bench.bindery.dev/service": service}
	offered := &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: service, Labels: labels},
		Spec:       syncagentv1alpha1.PublishedResourceSpec{Resource: syncagentv1alpha1.SourceResource{APIGroup: publishedGroup, Kind: "Database"}},
	}
	svc := &bindv1alpha1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: service},
		Spec:       bindv1alpha1.ServiceSpec{Title: "Databases", PublishedResources: metav1.LabelSelector{MatchLabels: labels}},
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bindery-system"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: directNamespace}}, offered, svc,
	} {
		framework.CreateWhenServed(b, c.workspace.Client, obj)
	}
	// Its Service and Consumer controllers keep the Service Ready and write the Consumer's
	// BoundAPIs, which the konnector installs from. Its issuer signs nobody in: the bind below
	// is the backend's provisioning without the sign-in, which the benchmark does not measure.
	backendURL, backend := framework.StartBackend(b, "--kcp-kubeconfig", framework.WriteKubeconfig(b, "team-workspace", c.workspace.Config),
		"--dev-oidc", "--dev-oidc-users", "bench:bench-password")
	c.procs["backend"] = backend.Pid()
	framework.WaitReady(b, c.workspace.Client, svc, func() []metav1.Condition { return svc.Status.Conditions })

	// The team cluster binds the Service and runs its konnector.
	teamClient := framework.NewClient(b, c.team.Config())
	apis, err := kcpapis.New(c.workspace.Client, c.workspace.Config)
	if err != nil {
		b.Fatal(err)
	}
	// The backend's default for a workspace: Consumers named without the user.
	bound := framework.ProvisionBinding(b, &consumers.Provisioner{Client: c.workspace.Client, APIs: apis, Config: c.workspace.Config, OpaqueNames: true}, teamClient, service)
	c.consumerNamespace = bound.Namespace
	binding := framework.WriteBinding(b, teamClient, backendURL, service, bound, "")
	konnector := framework.StartKonnector(b, c.team.Config())
	c.procs["konnector"] = konnector.Pid()
	framework.WaitBindingReady(b, teamClient, binding)
	received := bound.Resources[0].Consumer
	c.teamGVR = schema.GroupVersionResource{Group: received.Group, Version: received.Versions[0], Resource: received.Resource}
	c.workspaceGVR = schema.GroupVersionResource{Group: publishedGroup, Version: providerGVR.Version, Resource: providerGVR.Resource}

	c.inWorkspace = measure.WatchCopies(b, c.workspace.Config, c.workspaceGVR, c.consumerNamespace, copyKey)
	c.onProvider = measure.WatchCopies(b, c.provider.Config(), providerGVR, "", copyKey)
	for _, warmUp := range []struct {
		create    *rest.Config
		gvr       schema.GroupVersionResource
		namespace string
		name      string
	}{{c.team.Config(), c.teamGVR, teamNamespace, "w0"}, {c.workspace.Config, c.workspaceGVR, directNamespace, "v0"}} {
		if warmUp.namespace == teamNamespace {
			mustCreate(b, teamClient, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: teamNamespace}})
		}
		arrived := c.onProvider.Await(warmUp.name, 1)
		if _, err := creator(b, warmUp.create, warmUp.gvr, warmUp.namespace).Create(ctx, database(warmUp.gvr, warmUp.name), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-arrived:
		case <-time.After(5 * time.Minute):
			b.Fatalf("the warm-up object %s did not reach the provider cluster within 5 minutes", warmUp.name)
		}
	}
	return c
}

// copyKey names an object by the object it stands for, without the namespace the sync engine's
// default naming puts in front: a copy's source-name mark (the object itself where it has none),
// after its last '-'. The benchmark's names have no '-', so team cluster "bench/t0017", its copy
// "bench-t0017" in the workspace and that copy's copy on the provider all have the key "t0017".
func copyKey(u *unstructured.Unstructured) string {
	name := u.GetName()
	if source := u.GetAnnotations()[syncengine.SourceNameAnnotation]; source != "" {
		name = source
	}
	return name[strings.LastIndexByte(name, '-')+1:]
}

func mustCreate(b *testing.B, c client.Client, obj client.Object) {
	if err := c.Create(framework.Context(b), obj); err != nil {
		b.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}
