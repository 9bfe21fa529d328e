package deploy

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	konnectorcli "github.com/bindery-dev/bindery/pkg/konnector/cli"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
	"github.com/bindery-dev/bindery/pkg/kubectlbindery"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestKonnectorChart installs the bindery-konnector chart with its defaults (as deploy/README.md
// shows) and with ci/all-values.yaml. It checks the Deployment's flags, the ServiceAccount's
// rights once a binding's ClusterRole is aggregated as kube-controller-manager would, and runs the
// konnector as that ServiceAccount with the chart's flags: it starts, takes its Lease and reports
// on a ServiceBinding.
func TestKonnectorChart(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	ctx := framework.Context(t)

	t.Run("default values", func(t *testing.T) {
		const namespace, release = "bindery-system", "bindery-konnector"
		r := render(t, release, namespace, "bindery-konnector", "--values", chartPath(t, "bindery-konnector", "ci", "default-values.yaml"))
		if got, want := r.kinds(), []string{"ServiceAccount", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"}; !slices.Equal(got, want) {
			t.Fatalf("rendered kinds %v, want %v", got, want)
		}
		if len(r.crds) != 1 || r.crds[0].GetName() != "servicebindings.bind.bindery.dev" {
			t.Fatalf("rendered CRDs %v, want the ServiceBinding CRD (the konnector exits without it)", r.crds)
		}
		checkNoWildcards(t, r)
		c.install(t, r)

		deployment := c.deployment(t, namespace, release)
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		wantArgs := []string{
			"--namespace=bindery-system",
			"--leader-elect=true",
			"--heartbeat-interval=20s",
			"--metrics-bind-address=:8080",
			"--health-probe-bind-address=:8081",
			"--kube-api-qps=200",
			"--kube-api-burst=400",
			"--zap-log-level=info",
		}
		checkArgs(t, container.Args, wantArgs)
		parseFlags(t, konnectorcli.NewCommand(), container.Args)
		appVersion := chartAppVersion(t, "bindery-konnector")
		if bindImage, err := kubectlbindery.DefaultKonnectorImage(appVersion); err != nil || container.Image != bindImage {
			t.Errorf("image %q, want %q (%v): what kubectl bindery bind %s installs", container.Image, bindImage, err, appVersion)
		}
		if pod.ServiceAccountName != release {
			t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, release)
		}
		checkHardened(t, pod)
		checkProbes(t, container, 8081)

		// A binding's ClusterRole as kubectl bindery bind writes it, aggregated (envtest runs no
		// kube-controller-manager) with the core one into the role the ServiceAccount is bound to.
		received := konnectorrbac.BindingClusterRole("dbs", []schema.GroupResource{{Group: "databases.example.com", Resource: "databases"}})
		if err := c.client.Create(ctx, received); err != nil {
			t.Fatal(err)
		}
		framework.AggregateClusterRole(t, c.client, release)

		// What docs/konnector.md ("RBAC") grants, and no more.
		c.checkAccess(t, namespace, release, []access{
			{verb: "list", group: "bind.bindery.dev", resource: "servicebindings", allowed: true},
			{verb: "watch", group: "bind.bindery.dev", resource: "servicebindings", allowed: true},
			{verb: "patch", group: "bind.bindery.dev", resource: "servicebindings", allowed: true},
			{verb: "update", group: "bind.bindery.dev", resource: "servicebindings", subresource: "status", allowed: true},
			{verb: "update", group: "bind.bindery.dev", resource: "servicebindings", subresource: "finalizers", allowed: true},
			{verb: "create", group: "bind.bindery.dev", resource: "servicebindings"},
			{verb: "delete", group: "bind.bindery.dev", resource: "servicebindings"},
			// Secrets in every namespace: its credentials, and the related Secrets next to your objects.
			{verb: "get", resource: "secrets", namespace: namespace, allowed: true},
			{verb: "create", resource: "secrets", namespace: "team-a", allowed: true},
			{verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", allowed: true},
			{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", allowed: true},
			{verb: "delete", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
			{verb: "create", resource: "events", namespace: "team-a", allowed: true},
			{verb: "get", resource: "namespaces", allowed: true},
			{verb: "create", resource: "namespaces"},
			{verb: "delete", resource: "namespaces"},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: namespace, allowed: true},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system"},
			// The received resource, as the binding's ClusterRole grants it: never create or delete.
			{verb: "list", group: "databases.example.com", resource: "databases", namespace: "team-a", allowed: true},
			{verb: "patch", group: "databases.example.com", resource: "databases", namespace: "team-a", allowed: true},
			{verb: "update", group: "databases.example.com", resource: "databases", subresource: "status", namespace: "team-a", allowed: true},
			{verb: "create", group: "databases.example.com", resource: "databases", namespace: "team-a"},
			{verb: "delete", group: "databases.example.com", resource: "databases", namespace: "team-a"},
			// Nothing else, and no wildcard: a request for every verb (or every resource) is refused.
			{verb: "*", group: "bind.bindery.dev", resource: "servicebindings"},
			{verb: "*", resource: "secrets", namespace: namespace},
			{verb: "get", group: "*", resource: "*", namespace: namespace},
			{verb: "get", resource: "configmaps", namespace: namespace},
			{verb: "list", resource: "pods", namespace: namespace},
			{verb: "create", group: "apps", resource: "deployments", namespace: namespace},
			{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: namespace},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
			{verb: "impersonate", resource: "users"},
			{verb: "list", group: "other.example.com", resource: "things", namespace: "team-a"},
		})

		// The konnector itself, as the ServiceAccount, with the chart's flags: it starts and reports
		// on a binding whose credential Secret is missing.
		p, health := c.startAsPod(t, "./cmd/bindery-konnector", namespace, pod, func(path string) string { return path })
		waitHealthy(t, p, health)
		binding := &bindv1alpha1.ServiceBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "dbs"},
			Spec: bindv1alpha1.ServiceBindingSpec{
				Backend: "https://bind.example.com", Service: "dbs", Consumer: "c", ProviderNamespace: "bindery-c",
				CredentialSecret: bindv1alpha1.SecretReference{Namespace: namespace, Name: "dbs-credential"},
			},
		}
		if err := c.client.Create(ctx, binding); err != nil {
			t.Fatal(err)
		}
		c.waitForCondition(t, binding, func() []metav1.Condition { return binding.Status.Conditions },
			bindv1alpha1.BindingConditionConnected, metav1.ConditionFalse, bindv1alpha1.BindingReasonCredentialMissing)
		lease := &coordinationv1.Lease{}
		if err := c.client.Get(ctx, key(namespace, "bindery-konnector"), lease); err != nil || ptrValue(lease.Spec.HolderIdentity) == "" {
			t.Errorf("leader-election Lease %s/bindery-konnector: %+v, %v; want one held", namespace, lease.Spec, err)
		}
		checkNoForbidden(t, p)
	})

	t.Run("all values", func(t *testing.T) {
		const namespace, release = "consumers", "konnector"
		r := render(t, release, namespace, "bindery-konnector", "--values", chartPath(t, "bindery-konnector", "ci", "all-values.yaml"))
		c.install(t, r)
		deployment := c.deployment(t, namespace, "konnector")
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		flags := parseFlags(t, konnectorcli.NewCommand(), container.Args)
		checkFlags(t, flags, map[string]string{
			"namespace":                 namespace,
			"leader-elect":              "true",
			"heartbeat-interval":        "10s",
			"metrics-bind-address":      "0",
			"health-probe-bind-address": ":9440",
			"kube-api-qps":              "50",
			"kube-api-burst":            "100",
			"zap-log-level":             "debug",
			"zap-devel":                 "false",
		})
		checkAllValuesPod(t, deployment, "registry.example.com/bindery/bindery-konnector:v0.1.0-rc.1", "konnector-sa")
		if len(container.Ports) != 1 || container.Ports[0].Name != "health" {
			t.Errorf("ports %v, want only health (metrics are disabled)", container.Ports)
		}
		checkHardened(t, pod)
		checkProbes(t, container, 9440)
		framework.AggregateClusterRole(t, c.client, "konnector")
		c.checkAccess(t, namespace, "konnector-sa", []access{
			{verb: "list", group: "bind.bindery.dev", resource: "servicebindings", allowed: true},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: namespace, allowed: true},
			// The first install's Role in bindery-system is not this konnector's.
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "bindery-system"},
		})
	})
}

// TestKonnectorChartMatchesKubectlBindery checks that the chart, installed as the release
// bindery-konnector in bindery-system, has the objects `kubectl bindery bind --konnector=install`
// applies there (pkg/kubectlbindery, from pkg/konnectorrbac), under the same names, with the
// same rules and bindings and the same image, and no RBAC object that bind does not have.
func TestKonnectorChartMatchesKubectlBindery(t *testing.T) {
	t.Parallel()
	const namespace, release = "bindery-system", "bindery-konnector"
	r := render(t, release, namespace, "bindery-konnector", "--values", chartPath(t, "bindery-konnector", "ci", "default-values.yaml"))
	image, err := kubectlbindery.DefaultKonnectorImage(chartAppVersion(t, "bindery-konnector"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, want := range kubectlbindery.KonnectorManifests(namespace, image) {
		kind := reflect.TypeOf(want).Elem().Name()
		names[kind+"/"+want.GetName()] = true
		got := r.find(kind, want.GetName())
		if got == nil {
			t.Errorf("the chart renders no %s %s, which kubectl bindery bind applies", kind, want.GetName())
			continue
		}
		if got.GetNamespace() != want.GetNamespace() {
			t.Errorf("%s %s: namespace %q in the chart, %q from bind", kind, want.GetName(), got.GetNamespace(), want.GetNamespace())
		}
		switch w := want.(type) {
		case *rbacv1.ClusterRole:
			var g rbacv1.ClusterRole
			decodeInto(t, got, &g)
			if !reflect.DeepEqual(g.Rules, w.Rules) || !reflect.DeepEqual(g.AggregationRule, w.AggregationRule) ||
				g.Labels[konnectorrbac.AggregationLabel] != w.Labels[konnectorrbac.AggregationLabel] {
				t.Errorf("ClusterRole %s differs from kubectl bindery bind's:\nchart:\n%s\nbind:\n%s", w.Name, toYAML(t, g), toYAML(t, w))
			}
		case *rbacv1.Role:
			var g rbacv1.Role
			decodeInto(t, got, &g)
			if !reflect.DeepEqual(g.Rules, w.Rules) {
				t.Errorf("Role %s: rules\n%s\nin the chart, bind's\n%s", w.Name, toYAML(t, g.Rules), toYAML(t, w.Rules))
			}
		case *rbacv1.ClusterRoleBinding:
			var g rbacv1.ClusterRoleBinding
			decodeInto(t, got, &g)
			if !reflect.DeepEqual(g.RoleRef, w.RoleRef) || !reflect.DeepEqual(g.Subjects, w.Subjects) {
				t.Errorf("ClusterRoleBinding %s: %+v %+v in the chart, %+v %+v from bind", w.Name, g.RoleRef, g.Subjects, w.RoleRef, w.Subjects)
			}
		case *rbacv1.RoleBinding:
			var g rbacv1.RoleBinding
			decodeInto(t, got, &g)
			if !reflect.DeepEqual(g.RoleRef, w.RoleRef) || !reflect.DeepEqual(g.Subjects, w.Subjects) {
				t.Errorf("RoleBinding %s: %+v %+v in the chart, %+v %+v from bind", w.Name, g.RoleRef, g.Subjects, w.RoleRef, w.Subjects)
			}
		case *appsv1.Deployment:
			var g appsv1.Deployment
			decodeInto(t, got, &g)
			if g.Spec.Template.Spec.ServiceAccountName != w.Spec.Template.Spec.ServiceAccountName ||
				g.Spec.Template.Spec.Containers[0].Image != w.Spec.Template.Spec.Containers[0].Image {
				t.Errorf("Deployment %s runs %s as %s in the chart, %s as %s from bind", w.Name,
					g.Spec.Template.Spec.Containers[0].Image, g.Spec.Template.Spec.ServiceAccountName,
					w.Spec.Template.Spec.Containers[0].Image, w.Spec.Template.Spec.ServiceAccountName)
			}
		}
	}
	for _, obj := range r.objects {
		if strings.HasPrefix(obj.GetAPIVersion(), rbacv1.GroupName+"/") && !names[obj.GetKind()+"/"+obj.GetName()] {
			t.Errorf("the chart renders %s %s, which kubectl bindery bind does not apply", obj.GetKind(), obj.GetName())
		}
	}
}

// checkNoWildcards fails the test when a rendered Role or ClusterRole has "*" anywhere.
func checkNoWildcards(t testing.TB, r *rendered) {
	t.Helper()
	for _, obj := range r.objects {
		if obj.GetKind() != "ClusterRole" && obj.GetKind() != "Role" {
			continue
		}
		var role rbacv1.ClusterRole
		decodeInto(t, obj, &role)
		for _, rule := range role.Rules {
			for _, field := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.ResourceNames, rule.NonResourceURLs} {
				if slices.ContainsFunc(field, func(s string) bool { return strings.Contains(s, "*") }) {
					t.Errorf("%s %s has a wildcard in rule %+v", obj.GetKind(), obj.GetName(), rule)
				}
			}
		}
	}
}

// checkNoForbidden fails the test when the process logged a request its rights refused.
func checkNoForbidden(t testing.TB, p *framework.Process) {
	t.Helper()
	if tail := p.LogTail(2000); strings.Contains(strings.ToLower(tail), "forbidden") {
		t.Errorf("the process was refused a request:\n%s", grepLines(tail, "forbidden"))
	}
}

// grepLines returns the lines of s that contain sub, case-insensitively.
func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(line), sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
