package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	syncagentcli "github.com/bindery-dev/bindery/pkg/syncagent/cli"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// TestSyncagentChart installs the bindery-syncagent chart twice into one cluster: with only the
// required values (as deploy/README.md shows), and with ci/all-values.yaml, which takes every
// optional branch. Each time it checks the Deployment's flags and the ServiceAccount's rights.
func TestSyncagentChart(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	ctx := framework.Context(t)

	t.Run("strict field validation rejects unknown fields", func(t *testing.T) {
		cm := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "strict", "namespace": "default"},
			"data":     map[string]any{"a": "b"}, "notAField": "x",
		}}
		err := c.apply(ctx, cm)
		if err == nil || !strings.Contains(err.Error(), "notAField") {
			t.Fatalf("applying a ConfigMap with an unknown field: got %v, want an error naming the field", err)
		}
	})

	t.Run("required values", func(t *testing.T) {
		const namespace, release = "bindery-system", "bindery-syncagent"
		values := chartPath(t, "bindery-syncagent", "ci", "required-values.yaml")
		r := render(t, release, namespace, "bindery-syncagent", "--values", values)
		if got, want := r.kinds(), []string{"ServiceAccount", "Secret", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"}; !slices.Equal(got, want) {
			t.Fatalf("rendered kinds %v, want %v", got, want)
		}
		if len(r.crds) != 1 || r.crds[0].GetName() != "publishedresources.syncagent.bindery.dev" {
			t.Fatalf("rendered CRDs %v, want the PublishedResource CRD", r.crds)
		}
		c.install(t, r)

		deployment := c.deployment(t, namespace, release)
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		wantArgs := []string{
			"--kcp-kubeconfig=/etc/bindery/kcp/kubeconfig",
			"--apiexport-endpoint-slice=dbs",
			"--agent-name=dbs-agent",
			"--namespace=bindery-system",
			"--leader-elect=true",
			"--metrics-bind-address=:8080",
			"--health-probe-bind-address=:8081",
			"--kube-api-qps=200",
			"--kube-api-burst=400",
			"--consumer-events=all",
			"--presence-lease-duration=5m",
			"--zap-log-level=info",
		}
		checkArgs(t, container.Args, wantArgs)
		flags := parseFlags(t, syncagentcli.NewCommand(), container.Args)
		if pod.ServiceAccountName != release {
			t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, release)
		}
		if container.Image != "ghcr.io/bindery-dev/bindery-syncagent:"+chartAppVersion(t, "bindery-syncagent") {
			t.Errorf("image %q, want the chart's appVersion as tag", container.Image)
		}
		checkHardened(t, pod)
		checkProbes(t, container, 8081)
		kubeconfig := checkMountedSecret(t, pod, flags["kcp-kubeconfig"], release+"-kcp-kubeconfig", "kubeconfig")
		secret := &corev1.Secret{}
		if err := c.client.Get(ctx, key(namespace, release+"-kcp-kubeconfig"), secret); err != nil {
			t.Fatalf("the kcp kubeconfig Secret was not installed: %v", err)
		}
		if got, want := string(secret.Data[kubeconfig]), valueAt(t, values, "kcp", "kubeconfig"); got != want {
			t.Errorf("Secret holds kubeconfig %q, want kcp.kubeconfig %q", got, want)
		}

		// What deploy/syncagent/rbac.yaml and docs/syncagent.md ("Permissions") grant, and no more.
		c.checkAccess(t, namespace, release, []access{
			{verb: "get", group: "syncagent.bindery.dev", resource: "publishedresources", allowed: true},
			{verb: "list", group: "syncagent.bindery.dev", resource: "publishedresources", allowed: true},
			{verb: "watch", group: "syncagent.bindery.dev", resource: "publishedresources", allowed: true},
			{verb: "update", group: "syncagent.bindery.dev", resource: "publishedresources", subresource: "status", allowed: true},
			{verb: "patch", group: "syncagent.bindery.dev", resource: "publishedresources", subresource: "status", allowed: true},
			{verb: "create", group: "syncagent.bindery.dev", resource: "publishedresources"},
			// Only for the agent's finalizer on PublishedResources.
			{verb: "update", group: "syncagent.bindery.dev", resource: "publishedresources", allowed: true},
			{verb: "patch", group: "syncagent.bindery.dev", resource: "publishedresources", allowed: true},
			{verb: "delete", group: "syncagent.bindery.dev", resource: "publishedresources"},
			{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", allowed: true},
			{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", allowed: true},
			{verb: "watch", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", allowed: true},
			{verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
			{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
			{verb: "delete", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
			{verb: "create", resource: "events", namespace: "default", allowed: true},
			{verb: "patch", group: "events.k8s.io", resource: "events", namespace: "default", allowed: true},
			{verb: "delete", resource: "events", namespace: "default"},
			{verb: "get", resource: "namespaces", allowed: true},
			{verb: "create", resource: "namespaces", allowed: true},
			{verb: "update", resource: "namespaces"},
			{verb: "delete", resource: "namespaces"},
			// Related objects: rbac.yaml grants Secrets and ConfigMaps in every namespace.
			{verb: "get", resource: "secrets", namespace: "kube-system", allowed: true},
			{verb: "create", resource: "configmaps", namespace: "consumer-a", allowed: true},
			{verb: "delete", resource: "secrets", namespace: "consumer-a", allowed: true},
			// Leader election only in its own namespace, the one --namespace names.
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: flags["namespace"], allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: flags["namespace"], allowed: true},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system"},
			// Nothing else.
			{verb: "list", resource: "pods", namespace: namespace},
			{verb: "create", resource: "pods", namespace: namespace},
			{verb: "create", group: "apps", resource: "deployments", namespace: namespace},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
			{verb: "impersonate", resource: "users"},
			{verb: "create", group: "internal.dbs.example.com", resource: "postgresclusters", namespace: "consumer-a"},
		})

		// The same rights on real requests made as the ServiceAccount.
		agent := c.impersonate(t, namespace, release)
		if err := agent.List(ctx, &syncagentv1alpha1.PublishedResourceList{}); err != nil {
			t.Errorf("listing PublishedResources as the agent: %v", err)
		}
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "dbs-agent", Namespace: flags["namespace"]}}
		if err := agent.Create(ctx, lease); err != nil {
			t.Errorf("creating the leader-election Lease as the agent: %v", err)
		}
		victim := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "victim"}}
		if err := c.client.Create(ctx, victim); err != nil {
			t.Fatal(err)
		}
		if err := agent.Delete(ctx, victim); !apierrors.IsForbidden(err) {
			t.Errorf("deleting a namespace as the agent: got %v, want Forbidden", err)
		}
	})

	t.Run("all values", func(t *testing.T) {
		const namespace, release = "dbs", "dbs"
		r := render(t, release, namespace, "bindery-syncagent", "--values", chartPath(t, "bindery-syncagent", "ci", "all-values.yaml"))
		if slices.Contains(r.kinds(), "Secret") {
			t.Errorf("with kcp.existingSecret the chart must not render a Secret; rendered %v", r.kinds())
		}
		c.install(t, r)
		// The Secret that kcp.existingSecret names is the user's to create.
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "dbs-agent-kcp", Namespace: namespace},
			StringData: map[string]string{"admin.kubeconfig": "apiVersion: v1\nkind: Config\n"},
		}
		if err := c.client.Create(ctx, secret); err != nil {
			t.Fatal(err)
		}

		deployment := c.deployment(t, namespace, "dbs-agent")
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		flags := parseFlags(t, syncagentcli.NewCommand(), container.Args)
		checkFlags(t, flags, map[string]string{
			"published-resource-selector": "team=dbs",
			"namespace":                   namespace,
			"leader-elect":                "true",
			"metrics-bind-address":        "0",
			"health-probe-bind-address":   ":9440",
			"kube-api-qps":                "50",
			"kube-api-burst":              "100",
			"consumer-events":             "warnings",
			"presence-lease-duration":     "2m0s",
			"zap-log-level":               "debug",
			"pprof-bind-address":          ":6060",
		})
		checkAllValuesPod(t, deployment, "registry.example.com/bindery/bindery-syncagent:v0.1.0-rc.1", "dbs-agent-sa")
		if deployment.Spec.Template.Annotations["prometheus.io/scrape"] != "false" || deployment.Spec.Template.Labels["team"] != "dbs" {
			t.Errorf("pod annotations %v, labels %v: want the values' podAnnotations and podLabels",
				deployment.Spec.Template.Annotations, deployment.Spec.Template.Labels)
		}
		if len(container.Ports) != 1 || container.Ports[0].Name != "health" {
			t.Errorf("ports %v, want only health (metrics are disabled)", container.Ports)
		}
		checkHardened(t, pod)
		checkProbes(t, container, 9440)
		checkMountedSecret(t, pod, flags["kcp-kubeconfig"], "dbs-agent-kcp", "admin.kubeconfig")

		// relatedResourceRules narrowed to reading Secrets; publishedResourceRules add the copies.
		c.checkAccess(t, namespace, "dbs-agent-sa", []access{
			{verb: "list", group: "syncagent.bindery.dev", resource: "publishedresources", allowed: true},
			{verb: "get", resource: "secrets", namespace: "consumer-a", allowed: true},
			{verb: "create", resource: "secrets", namespace: "consumer-a"},
			{verb: "get", resource: "configmaps", namespace: "consumer-a"},
			{verb: "create", group: "internal.dbs.example.com", resource: "postgresclusters", namespace: "consumer-a", allowed: true},
			{verb: "delete", group: "internal.dbs.example.com", resource: "postgresclusters", namespace: "consumer-a", allowed: true},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: flags["namespace"], allowed: true},
			// The first install's Role in bindery-system is not this agent's.
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "bindery-system"},
		})
	})
}

// TestSyncagentChartRBACMatchesManifest checks that the chart, installed as the release
// bindery-syncagent in bindery-system with default RBAC values, grants what
// deploy/syncagent/rbac.yaml grants, to the same ServiceAccount, under the same names.
func TestSyncagentChartRBACMatchesManifest(t *testing.T) {
	t.Parallel()
	r := render(t, "bindery-syncagent", "bindery-system", "bindery-syncagent",
		"--values", chartPath(t, "bindery-syncagent", "ci", "required-values.yaml"))
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy", "syncagent", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range decodeYAML(t, data) {
		if want.GetKind() == "Namespace" {
			continue // helm install --create-namespace (or the user) creates it
		}
		got := r.find(want.GetKind(), want.GetName())
		if got == nil {
			t.Errorf("the chart renders no %s %s, which deploy/syncagent/rbac.yaml has", want.GetKind(), want.GetName())
			continue
		}
		if got.GetNamespace() != want.GetNamespace() {
			t.Errorf("%s %s: namespace %q in the chart, %q in rbac.yaml", want.GetKind(), want.GetName(), got.GetNamespace(), want.GetNamespace())
		}
		switch want.GetKind() {
		case "ClusterRole", "Role":
			var g, w rbacv1.ClusterRole // Role has the same rules field
			decodeInto(t, got, &g)
			decodeInto(t, want, &w)
			if !reflect.DeepEqual(g.Rules, w.Rules) {
				t.Errorf("%s %s: the chart's rules differ from deploy/syncagent/rbac.yaml:\nchart:\n%s\nrbac.yaml:\n%s",
					want.GetKind(), want.GetName(), toYAML(t, g.Rules), toYAML(t, w.Rules))
			}
		case "ClusterRoleBinding", "RoleBinding":
			var g, w rbacv1.ClusterRoleBinding
			decodeInto(t, got, &g)
			decodeInto(t, want, &w)
			if !reflect.DeepEqual(g.RoleRef, w.RoleRef) || !reflect.DeepEqual(g.Subjects, w.Subjects) {
				t.Errorf("%s %s: roleRef/subjects %+v %+v in the chart, %+v %+v in rbac.yaml",
					want.GetKind(), want.GetName(), g.RoleRef, g.Subjects, w.RoleRef, w.Subjects)
			}
		}
	}
}

// backendValues are the values the backend chart requires but consumerServer.url.
const backendValues = "externalURL=https://b,tls.existingSecret=t,oidc.issuerURL=https://i,oidc.clientID=c,oidc.clientSecret.existingSecret=s"

// TestChartsRefuseBadValues checks that the charts fail with a message naming the value, rather
// than rendering a Deployment that cannot start.
func TestChartsRefuseBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		chart string
		args  []string
		want  string
	}{
		{"bindery-syncagent", nil, "agentName is required"},
		{"bindery-syncagent", []string{"--set", "agentName=a"}, "apiExportEndpointSlice is required"},
		{"bindery-syncagent", []string{"--set", "agentName=a,apiExportEndpointSlice=b"}, "a kcp kubeconfig is required"},
		{"bindery-syncagent", []string{"--set", "agentName=a,apiExportEndpointSlice=b,kcp.existingSecret=s,kcp.kubeconfig=k"}, "exclusive"},
		{"bindery-syncagent", []string{"--set", "agentName=a,apiExportEndpointSlice=b,kcp.existingSecret=s,replicaCount=2,leaderElection.enabled=false"}, "requires leaderElection.enabled"},
		{"bindery-manager", nil, "a kcp kubeconfig is required"},
		{"bindery-manager", []string{"--set", "kcp.existingSecret=s,fleet.existingSecret=f,fleet.kubeconfig=k"}, "exclusive"},
		{"bindery-manager", []string{"--set", "kcp.existingSecret=s,replicaCount=3,leaderElection.enabled=false"}, "requires leaderElection.enabled"},
		{"bindery-backend", nil, "externalURL is required"},
		{"bindery-backend", []string{"--set", "externalURL=http://bind.example.com"}, "must be an https URL"},
		{"bindery-backend", []string{"--set", "externalURL=https://b"}, "tls.existingSecret is required"},
		{"bindery-backend", []string{"--set", "externalURL=https://b,tls.existingSecret=t"}, "oidc.issuerURL is required"},
		{"bindery-backend", []string{"--set", "externalURL=https://b,tls.existingSecret=t,oidc.issuerURL=https://i"}, "oidc.clientID is required"},
		{"bindery-backend", []string{"--set", "externalURL=https://b,tls.existingSecret=t,oidc.issuerURL=https://i,oidc.clientID=c"}, "oidc.clientSecret.existingSecret is required"},
		{"bindery-backend", []string{"--set", backendValues}, "consumerServer.url is required"},
		{"bindery-backend", []string{"--set", backendValues + ",consumerServer.url=https://p,replicaCount=2,leaderElection.enabled=false"}, "requires leaderElection.enabled"},
		{"bindery-backend", []string{"--set", backendValues + ",consumerServer.url=https://p,oidc.ca.bundle=x,oidc.ca.existingConfigMap=y"}, "exclusive"},
		{"bindery-backend", []string{"--set", "devOIDC.enabled=true"}, "devOIDC.users.existingSecret is required"},
		{"bindery-backend", []string{"--set", "devOIDC.enabled=true,devOIDC.users.existingSecret=u,oidc.issuerURL=https://i"}, "exclusive"},
		{"bindery-backend", []string{"--set", "devOIDC.enabled=true,devOIDC.users.existingSecret=u,tls.existingSecret=t"}, "leave tls.existingSecret empty"},
		{"bindery-backend", []string{"--set", "devOIDC.enabled=true,devOIDC.users.existingSecret=u,replicaCount=2"}, "runs one replica"},
		{"bindery-konnector", []string{"--set", "replicaCount=2,leaderElection.enabled=false"}, "requires leaderElection.enabled"},
	} {
		_, err := helmTemplate(t, "release", "bindery-system", tc.chart, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got %v, want an error containing %q", tc.chart, tc.args, err, tc.want)
		}
	}
}
