package deploy

import (
	"maps"
	"slices"
	"testing"

	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	managercli "github.com/bindery-dev/bindery/pkg/manager/cli"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestManagerChart installs the bindery-manager chart with only the required values and with
// ci/all-values.yaml. The manager talks only to kcp, so its ServiceAccount must hold no rights in
// the cluster it runs in, and its token is not mounted.
func TestManagerChart(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	ctx := framework.Context(t)

	t.Run("required values", func(t *testing.T) {
		const namespace, release = "bindery-system", "bindery-manager"
		values := chartPath(t, "bindery-manager", "ci", "required-values.yaml")
		r := render(t, release, namespace, "bindery-manager", "--values", values)
		if got, want := r.kinds(), []string{"ServiceAccount", "Secret", "Deployment"}; !slices.Equal(got, want) {
			t.Fatalf("rendered kinds %v, want %v (no RBAC: the manager needs no rights here)", got, want)
		}
		if len(r.crds) != 0 {
			t.Fatalf("rendered CRDs %v, want none: the manager installs its CRDs into kcp itself", r.crds)
		}
		c.install(t, r)

		deployment := &appsv1.Deployment{}
		if err := c.client.Get(ctx, key(namespace, release), deployment); err != nil {
			t.Fatalf("the Deployment was not installed: %v", err)
		}
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		wantArgs := []string{
			"--kubeconfig=/etc/bindery/kcp/kubeconfig",
			"--catalog-workspace=root:catalog",
			"--leader-elect=true",
			"--metrics-bind-address=:8080",
			"--health-probe-bind-address=:8081",
			"--kube-api-qps=200",
			"--kube-api-burst=400",
			"--zap-log-level=info",
		}
		if !slices.Equal(container.Args, wantArgs) {
			t.Errorf("args\n  %q\nwant\n  %q", container.Args, wantArgs)
		}
		flags := parseManagerFlags(t, container.Args)
		if container.Image != "ghcr.io/bindery-dev/bindery-manager:"+chartAppVersion(t, "bindery-manager") {
			t.Errorf("image %q, want the chart's appVersion as tag", container.Image)
		}
		if pod.ServiceAccountName != release || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("serviceAccountName %q, automountServiceAccountToken %v: want %q and false",
				pod.ServiceAccountName, pod.AutomountServiceAccountToken, release)
		}
		checkHardened(t, pod)
		checkProbes(t, container, 8081)
		// The probe server starts after the catalog workspace is set up (up to two minutes).
		if p := container.StartupProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" ||
			p.PeriodSeconds*p.FailureThreshold < 120 {
			t.Errorf("startupProbe %+v: want /healthz allowing at least 120 s before the liveness probe counts", p)
		}
		kubeconfigKey := checkMountedKubeconfig(t, pod, flags["kubeconfig"], release+"-kubeconfig", "kubeconfig")
		secret := &corev1.Secret{}
		if err := c.client.Get(ctx, key(namespace, release+"-kubeconfig"), secret); err != nil {
			t.Fatalf("the kubeconfig Secret was not installed: %v", err)
		}
		if got, want := string(secret.Data[kubeconfigKey]), valueAt(t, values, "kcp", "kubeconfig"); got != want {
			t.Errorf("Secret holds kubeconfig %q, want kcp.kubeconfig %q", got, want)
		}
		sa := &corev1.ServiceAccount{}
		if err := c.client.Get(ctx, key(namespace, release), sa); err != nil {
			t.Fatalf("the ServiceAccount was not installed: %v", err)
		}

		// No rights in this cluster, not even in its own namespace: leader election happens in kcp.
		c.checkAccess(t, namespace, release, []access{
			{verb: "get", resource: "secrets", namespace: namespace},
			{verb: "list", resource: "configmaps", namespace: namespace},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: namespace},
			{verb: "create", resource: "events", namespace: namespace},
			{verb: "list", resource: "namespaces"},
			{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
		})
	})

	t.Run("all values", func(t *testing.T) {
		const namespace, release = "catalog", "catalog"
		r := render(t, release, namespace, "bindery-manager", "--values", chartPath(t, "bindery-manager", "ci", "all-values.yaml"))
		c.install(t, r)

		deployment := &appsv1.Deployment{}
		if err := c.client.Get(ctx, key(namespace, "catalog-manager"), deployment); err != nil {
			t.Fatalf("the Deployment was not installed: %v", err)
		}
		if got := ptrValue(deployment.Spec.Replicas); got != 2 {
			t.Errorf("replicas %d, want 2", got)
		}
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		flags := parseManagerFlags(t, container.Args)
		for flag, want := range map[string]string{
			"fleet-context":             "shard-base",
			"catalog-workspace":         "root:bindery:catalog",
			"leader-elect":              "true",
			"metrics-bind-address":      "0",
			"health-probe-bind-address": ":9440",
			"kube-api-qps":              "50",
			"kube-api-burst":            "100",
			"zap-log-level":             "debug",
		} {
			if flags[flag] != want {
				t.Errorf("--%s=%q, want %q", flag, flags[flag], want)
			}
		}
		// The catalog identity from the existing Secret, the fleet identity from the created one.
		checkMountedKubeconfig(t, pod, flags["kubeconfig"], "bindery-manager-kcp", "admin.kubeconfig")
		fleetKey := checkMountedKubeconfig(t, pod, flags["fleet-kubeconfig"], "catalog-manager-kubeconfig", "fleet-kubeconfig")
		secret := &corev1.Secret{}
		if err := c.client.Get(ctx, key(namespace, "catalog-manager-kubeconfig"), secret); err != nil {
			t.Fatalf("the fleet kubeconfig Secret was not installed: %v", err)
		}
		if len(secret.Data) != 1 || len(secret.Data[fleetKey]) == 0 {
			t.Errorf("Secret keys %v, want only %s", slices.Sorted(maps.Keys(secret.Data)), fleetKey)
		}
		if pod.ServiceAccountName != "catalog-manager-sa" || pod.NodeSelector["kubernetes.io/os"] != "linux" ||
			len(pod.Tolerations) != 1 || pod.Affinity == nil || len(pod.ImagePullSecrets) != 1 {
			t.Errorf("pod settings of the values missing: %+v", pod)
		}
		checkHardened(t, pod)
		checkProbes(t, container, 9440)
		c.checkAccess(t, namespace, "catalog-manager-sa", []access{
			{verb: "get", resource: "secrets", namespace: namespace},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: namespace},
		})
	})
}

// parseManagerFlags parses args with bindery-manager's own command line, so that every flag the
// chart renders exists, and returns the flags' values.
func parseManagerFlags(t testing.TB, args []string) map[string]string {
	t.Helper()
	cmd := managercli.NewCommand()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("bindery-manager does not accept the chart's args %q: %v", args, err)
	}
	values := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) { values[f.Name] = f.Value.String() })
	return values
}
