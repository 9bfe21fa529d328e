package workspacebackend

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

var (
	alice = framework.DevUser{Name: "alice", Password: "alice-password"}
	bob   = framework.DevUser{Name: "bob", Password: "bob-password"}
)

const devUsers = "alice:alice-password,bob:bob-password"

// providerKind is the example operator's Database in the provider cluster.
var providerKind = schema.GroupVersionKind{Group: "db.provider.example", Version: "v1alpha1", Kind: "Database"}

// chain is the provider side of the chain up to the team's workspace: the provider cluster with
// its operator and syncagent, the export's workspace, and the team workspace that binds the
// export and is served by a bindery-backend.
type chain struct {
	provider client.Client
	// agent restarts the syncagent (killed with agentProcess.Kill).
	agentProcess *framework.Process
	agent        func() *framework.Process
	// exporter is the provider's workspace with the APIExport, team the team's.
	exporter, team *framework.Workspace
	backendURL     string
	// service is the team's Service of the bound Databases; kind their kind in the workspace.
	service string
	kind    schema.GroupVersionKind
}

// newChain builds the chain with a Databases Service in the team workspace that alice and bob
// may bind.
func newChain(t *testing.T) *chain {
	t.Helper()
	ctx := framework.Context(t)
	providerCluster := framework.StartKube(t, "deploy/crd", "examples/database-operator/config/crd.yaml")
	c := &chain{provider: framework.NewClient(t, providerCluster.Config()), service: "databases"}
	framework.StartProcess(t, "database-operator", framework.Binary(t, "./examples/database-operator"),
		"--kubeconfig", framework.WriteKubeconfig(t, "operator", providerCluster.Config()), "--install-crd=false")

	t.Log("the provider publishes its Databases into an APIExport with the syncagent")
	exporter := framework.NewWorkspace(t, "dbteam")
	c.exporter = exporter
	c.kind = schema.GroupVersionKind{Group: framework.UniqueName("db") + ".example", Version: "v1alpha1", Kind: "Database"}
	published := databasesPR(syncagentv1alpha1.SourceResource{APIGroup: providerKind.Group, Kind: "Database"}, nil)
	published.Spec.Projection = &syncagentv1alpha1.Projection{Group: c.kind.Group}
	if err := c.provider.Create(ctx, published); err != nil {
		t.Fatal(err)
	}
	agentArgs := []string{
		"--kcp-kubeconfig", framework.WriteKubeconfig(t, "kcp", exporter.Config),
		"--kubeconfig", framework.WriteKubeconfig(t, "provider", providerCluster.Config()),
		"--apiexport-endpoint-slice", "databases", "--agent-name", "chain",
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
	}
	agent := framework.Binary(t, "./cmd/bindery-syncagent")
	c.agent = func() *framework.Process {
		c.agentProcess = framework.StartProcess(t, "bindery-syncagent", agent, agentArgs...)
		return c.agentProcess
	}
	c.agent()
	waitCondition(t, c.provider, published, syncagentv1alpha1.ConditionReady)

	t.Log("the team binds the export in its workspace and offers the Databases to its clusters")
	c.team = framework.NewWorkspace(t, "team")
	framework.BindExport(t, c.team, exporter, "databases")
	framework.InstallCRDs(t, c.team.Config, "deploy/crd")
	offered := databasesPR(syncagentv1alpha1.SourceResource{APIGroup: c.kind.Group, Kind: "Database"}, map[string]string{"team.example/offer": "databases"})
	svc := &bindv1alpha1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: c.service},
		Spec: bindv1alpha1.ServiceSpec{Title: "Databases", Description: "The Database team's databases, in your own cluster.",
			PublishedResources: metav1.LabelSelector{MatchLabels: map[string]string{"team.example/offer": "databases"}}},
	}
	for _, obj := range append([]client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bindery-system"}}, offered, svc,
	}, grants(c.service, alice, bob)...) {
		framework.CreateWhenServed(t, c.team.Client, obj)
	}
	c.backendURL = startBackend(t, c.team)
	waitCondition(t, c.team.Client, svc, bindv1alpha1.ServiceConditionReady)
	return c
}

// databasesPR offers the Databases of res with the operator's credentials Secret, which the
// Database's status names, travelling back.
func databasesPR(res syncagentv1alpha1.SourceResource, labels map[string]string) *syncagentv1alpha1.PublishedResource {
	return &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "databases", Labels: labels},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource: res,
			Related: []syncagentv1alpha1.RelatedResource{{
				Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
				Object: syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "status.credentialsSecretRef.name"}},
			}},
		},
	}
}

// grants let the users bind the Service: kcp asks for "access" to the workspace before anything
// else, and "bind" on the Service is bindery's own permission.
func grants(service string, users ...framework.DevUser) []client.Object {
	var subjects []rbacv1.Subject
	for _, u := range users {
		subjects = append(subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: u.Username()})
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "bind-" + service},
		Rules: []rbacv1.PolicyRule{
			{NonResourceURLs: []string{"/"}, Verbs: []string{"access"}},
			{APIGroups: []string{bindv1alpha1.GroupVersion.Group}, Resources: []string{"services"}, ResourceNames: []string{service}, Verbs: []string{"bind"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bind-" + service},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   subjects,
	}
	return []client.Object{role, binding}
}

// startBackend runs bindery-backend for the workspace with the embedded issuer and returns its URL.
func startBackend(t *testing.T, ws *framework.Workspace) string {
	t.Helper()
	url, _ := framework.StartBackend(t, "--kcp-kubeconfig", framework.WriteKubeconfig(t, "team", ws.Config), "--title", "Team databases",
		"--dev-oidc", "--dev-oidc-address", issuer.Address, "--dev-oidc-users", devUsers, "--dev-oidc-state-dir", issuer.StateDir)
	return url
}

// waitCondition waits until obj's condition of the type is True, for the current generation.
func waitCondition[T client.Object](t *testing.T, c client.Client, obj T, conditionType string) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("%s %s to be %s", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), conditionType),
		func(ctx context.Context) (bool, string, error) {
			if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return false, "", err
			}
			var conditions []metav1.Condition
			switch o := any(obj).(type) {
			case *syncagentv1alpha1.PublishedResource:
				conditions = o.Status.Conditions
			case *bindv1alpha1.Service:
				conditions = o.Status.Conditions
			}
			cond := meta.FindStatusCondition(conditions, conditionType)
			if cond == nil {
				return false, "no condition yet", nil
			}
			return cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == obj.GetGeneration(), cond.Reason + ": " + cond.Message, nil
		})
}

// teamCluster is one of the team's Kubernetes clusters with the Service bound and a konnector.
type teamCluster struct {
	config    *rest.Config
	client    client.Client
	konnector *framework.Process
	restart   func() *framework.Process
	// kind is the Databases' kind here; namespace the Consumer's namespace in the workspace, and
	// credential what the konnector reaches it with.
	kind       schema.GroupVersionKind
	namespace  string
	consumer   string
	credential client.Client
	token      string
}

// bindCluster starts a team cluster, signs u in at the backend in a headless browser, binds the
// Service there as kubectl bindery bind does, and waits until its konnector has the binding Ready.
func (c *chain) bindCluster(t *testing.T, u framework.DevUser) *teamCluster {
	t.Helper()
	kube := framework.StartKube(t, "deploy/crd")
	tc := &teamCluster{config: kube.Config(), client: framework.NewClient(t, kube.Config())}
	session := framework.SignIn(t, framework.Browser(t, true), c.backendURL, u.Name, u.Password, "", nil)
	bound, binding := framework.BindInto(t, tc.client, c.backendURL, session, c.service, "")
	if len(bound.Resources) != 1 || len(bound.Resources[0].Consumer.Versions) == 0 {
		t.Fatalf("the bind returned %+v, want the Databases", bound.Resources)
	}
	r := bound.Resources[0].Consumer
	tc.kind = schema.GroupVersionKind{Group: r.Group, Version: r.Versions[0], Kind: r.Kind}
	tc.namespace, tc.consumer = bound.Namespace, bound.Consumer
	cfg, err := clientcmd.RESTConfigFromKubeConfig(bound.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	tc.credential, tc.token = framework.NewClient(t, cfg), cfg.BearerToken
	tc.restart = func() *framework.Process {
		tc.konnector = framework.StartKonnector(t, kube.Config())
		return tc.konnector
	}
	tc.restart()
	framework.WaitBindingReady(t, tc.client, binding)
	return tc
}

// list lists objects of the kind, in namespace if not empty.
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

// providerCopies counts the syncagent's copies in the provider cluster per source (the
// workspace object each copies).
func (c *chain) providerCopies(ctx context.Context) (map[string]int, error) {
	items, err := list(ctx, c.provider, providerKind, "")
	return bySource(items), err
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	if err := c.Create(framework.Context(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func errString(err error) string {
	if err == nil {
		return "found"
	}
	return err.Error()
}

// waitReadyWithSecret waits until the team cluster's Database in shop is Ready, with its
// credentials Secret next to it: status and Secret came back over both hops.
func waitReadyWithSecret(t *testing.T, tc *teamCluster, name string) {
	t.Helper()
	db := framework.Database(tc.kind, "shop", name)
	framework.WaitFor(t, 2*time.Minute, "Database "+name+" Ready with its credentials in "+tc.consumer+"'s cluster", func(ctx context.Context) (bool, string, error) {
		if err := tc.client.Get(ctx, client.ObjectKeyFromObject(db), db); err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(db.Object, "status", "phase")
		secret, _, _ := unstructured.NestedString(db.Object, "status", "credentialsSecretRef", "name")
		if phase != "Ready" || secret == "" {
			return false, "phase " + phase + ", secret " + secret, nil
		}
		err := tc.client.Get(ctx, client.ObjectKey{Namespace: "shop", Name: secret}, &corev1.Secret{})
		return err == nil, "the Secret " + secret + ": " + errString(err), nil
	})
}

// bySource counts copies per source object, by the sync engine's ownership mark.
func bySource(items []unstructured.Unstructured) map[string]int {
	counts := map[string]int{}
	for _, item := range items {
		counts[item.GetLabels()[syncengine.SourceLabel]]++
	}
	return counts
}
