package deploy

import (
	"maps"
	"slices"
	"testing"

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

		deployment := c.deployment(t, namespace, release)
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
		checkArgs(t, container.Args, wantArgs)
		flags := parseFlags(t, managercli.NewCommand(), container.Args)
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
		kubeconfigKey := checkMountedSecret(t, pod, flags["kubeconfig"], release+"-kubeconfig", "kubeconfig")
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

		deployment := c.deployment(t, namespace, "catalog-manager")
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		flags := parseFlags(t, managercli.NewCommand(), container.Args)
		checkFlags(t, flags, map[string]string{
			"fleet-context":             "shard-base",
			"catalog-workspace":         "root:bindery:catalog",
			"leader-elect":              "true",
			"metrics-bind-address":      "0",
			"health-probe-bind-address": ":9440",
			"kube-api-qps":              "50",
			"kube-api-burst":            "100",
			"zap-log-level":             "debug",
		})
		// The catalog identity from the existing Secret, the fleet identity from the created one.
		checkMountedSecret(t, pod, flags["kubeconfig"], "bindery-manager-kcp", "admin.kubeconfig")
		fleetKey := checkMountedSecret(t, pod, flags["fleet-kubeconfig"], "catalog-manager-kubeconfig", "fleet-kubeconfig")
		secret := &corev1.Secret{}
		if err := c.client.Get(ctx, key(namespace, "catalog-manager-kubeconfig"), secret); err != nil {
			t.Fatalf("the fleet kubeconfig Secret was not installed: %v", err)
		}
		if len(secret.Data) != 1 || len(secret.Data[fleetKey]) == 0 {
			t.Errorf("Secret keys %v, want only %s", slices.Sorted(maps.Keys(secret.Data)), fleetKey)
		}
		checkAllValuesPod(t, deployment, "registry.example.com/bindery/bindery-manager:v0.1.0-rc.1", "catalog-manager-sa")
		checkHardened(t, pod)
		checkProbes(t, container, 9440)
		c.checkAccess(t, namespace, "catalog-manager-sa", []access{
			{verb: "get", resource: "secrets", namespace: namespace},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: namespace},
		})
	})
}
