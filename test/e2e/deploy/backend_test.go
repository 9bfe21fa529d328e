package deploy

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	backendcli "github.com/bindery-dev/bindery/pkg/backend/cli"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// The Service the backend tests offer: the example operator's Databases with their credentials
// Secret, what ci/dev-oidc-values.yaml lists the rules for.
const (
	offeredService = "postgres"
	databaseGroup  = "db.provider.example"
)

// TestBackendChart installs the bindery-backend chart with the required values for an external
// issuer, with ci/dev-oidc-values.yaml, and with ci/all-values.yaml. Each time it checks the
// Deployment's flags and mounts and the ServiceAccount's rights; with the development issuer it
// runs the backend as that ServiceAccount with the chart's flags and binds, provisions and revokes
// a Consumer with those rights. The default RBAC holds what it hands to Consumers instead of
// escalate: without a rule for a CRD, binding it is refused by the API server, and rbac.escalate
// lets the backend hand out what it does not hold.
func TestBackendChart(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	ctx := framework.Context(t)

	t.Run("required values", func(t *testing.T) {
		const namespace, release = "bindery-system", "bindery-backend"
		r := render(t, release, namespace, "bindery-backend", "--values", chartPath(t, "bindery-backend", "ci", "required-values.yaml"))
		if got, want := r.kinds(), []string{"ServiceAccount", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Deployment"}; !slices.Equal(got, want) {
			t.Fatalf("rendered kinds %v, want %v", got, want)
		}
		var crds []string
		for _, crd := range r.crds {
			crds = append(crds, crd.GetName())
		}
		slices.Sort(crds)
		if want := []string{"boundapis.bind.bindery.dev", "consumers.bind.bindery.dev", "publishedresources.syncagent.bindery.dev", "services.bind.bindery.dev"}; !slices.Equal(crds, want) {
			t.Fatalf("rendered CRDs %v, want %v", crds, want)
		}
		c.install(t, r)
		offerDatabases(t, c)

		deployment := c.deployment(t, namespace, release)
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		wantArgs := []string{
			"--namespace=bindery-system",
			"--listen-address=:8443",
			"--tls-cert-file=/etc/bindery/tls/tls.crt",
			"--tls-private-key-file=/etc/bindery/tls/tls.key",
			"--external-url=https://bind.example.com",
			"--title=bindery",
			"--session-duration=12h",
			"--credential-ttl=1h",
			"--oidc-issuer-url=https://keycloak.example.com/realms/provider",
			"--oidc-client-id=bindery",
			"--oidc-client-secret-file=/etc/bindery/oidc/client-secret",
			"--oidc-scopes=email,profile,groups",
			"--oidc-username-claim=email",
			"--oidc-username-prefix=oidc:",
			"--oidc-groups-claim=groups",
			"--oidc-groups-prefix=oidc:",
			"--consumer-server-url=https://provider.example.com:6443",
			"--leader-elect=true",
			"--metrics-bind-address=:8080",
			"--health-probe-bind-address=:8081",
			"--zap-log-level=info",
		}
		checkArgs(t, container.Args, wantArgs)
		flags := parseFlags(t, backendcli.NewCommand(), container.Args)
		if container.Image != "ghcr.io/bindery-dev/bindery-backend:"+chartAppVersion(t, "bindery-backend") {
			t.Errorf("image %q, want the chart's appVersion as tag", container.Image)
		}
		if pod.ServiceAccountName != release {
			t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, release)
		}
		checkHardened(t, pod)
		checkBackendProbes(t, container, false)
		checkMountedSecret(t, pod, flags["tls-cert-file"], "bind-example-com-tls", "tls.crt")
		checkMountedSecret(t, pod, flags["tls-private-key-file"], "bind-example-com-tls", "tls.key")
		checkMountedSecret(t, pod, flags["oidc-client-secret-file"], "bindery-oidc-client", "client-secret")
		service := &corev1.Service{}
		if err := c.client.Get(ctx, key(namespace, release), service); err != nil {
			t.Fatalf("the Service was not installed: %v", err)
		}
		if len(service.Spec.Ports) != 1 || service.Spec.Ports[0].Port != 443 || service.Spec.Ports[0].TargetPort.String() != "https" ||
			!selects(service.Spec.Selector, deployment.Spec.Template.Labels) {
			t.Errorf("Service %+v: want port 443 to the pods' https port", service.Spec)
		}

		// What docs/backend.md ("What the backend needs on the provider cluster") lists, and no more.
		consumerNS := "bindery-oidc-alice-0123456789abcdef"
		c.checkAccess(t, namespace, release, []access{
			{verb: "create", group: "authorization.k8s.io", resource: "subjectaccessreviews", allowed: true},
			{verb: "list", group: "bind.bindery.dev", resource: "services", allowed: true},
			{verb: "patch", group: "bind.bindery.dev", resource: "services", subresource: "status", allowed: true},
			{verb: "create", group: "bind.bindery.dev", resource: "services"},
			{verb: "update", group: "bind.bindery.dev", resource: "services"},
			{verb: "delete", group: "bind.bindery.dev", resource: "services"},
			{verb: "create", group: "bind.bindery.dev", resource: "consumers", allowed: true},
			{verb: "update", group: "bind.bindery.dev", resource: "consumers", allowed: true},
			{verb: "patch", group: "bind.bindery.dev", resource: "consumers", subresource: "status", allowed: true},
			{verb: "update", group: "bind.bindery.dev", resource: "consumers", subresource: "finalizers", allowed: true},
			{verb: "delete", group: "bind.bindery.dev", resource: "consumers"},
			{verb: "create", group: "bind.bindery.dev", resource: "boundapis", namespace: consumerNS, allowed: true},
			{verb: "delete", group: "bind.bindery.dev", resource: "boundapis", namespace: consumerNS, allowed: true},
			{verb: "watch", group: "syncagent.bindery.dev", resource: "publishedresources", allowed: true},
			{verb: "update", group: "syncagent.bindery.dev", resource: "publishedresources"},
			{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", allowed: true},
			{verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
			{verb: "create", resource: "namespaces", allowed: true},
			{verb: "delete", resource: "namespaces", allowed: true},
			{verb: "create", resource: "serviceaccounts", namespace: consumerNS, allowed: true},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "roles", namespace: consumerNS, allowed: true},
			{verb: "update", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: consumerNS, allowed: true},
			// Tokens only for the Consumers' ServiceAccount konnector, never another one.
			{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: consumerNS, name: "konnector", allowed: true},
			{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: namespace, name: release},
			{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "kube-system", name: "default"},
			// Leases: watched everywhere (heartbeats), renewed only as the konnector's heartbeat.
			{verb: "watch", group: "coordination.k8s.io", resource: "leases", allowed: true},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: consumerNS, allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: consumerNS, name: "konnector-heartbeat", allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system", name: "kube-scheduler"},
			{verb: "create", resource: "events", namespace: "default", allowed: true},
			// Its session key and leader-election Lease in --namespace, and no other Secret.
			{verb: "create", resource: "secrets", namespace: flags["namespace"], allowed: true},
			{verb: "get", resource: "secrets", namespace: flags["namespace"], name: "bindery-backend-session", allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: flags["namespace"], name: "bindery-backend", allowed: true},
			{verb: "get", resource: "secrets", namespace: flags["namespace"], name: "bindery-oidc-client"},
			{verb: "list", resource: "secrets", namespace: flags["namespace"]},
			{verb: "get", resource: "secrets", namespace: "kube-system", name: "anything"},
			{verb: "create", resource: "secrets", namespace: consumerNS},
			// No escalate or bind, and nothing it does not hand to Consumers.
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "roles", namespace: consumerNS},
			{verb: "bind", group: "rbac.authorization.k8s.io", resource: "roles", namespace: consumerNS, name: "konnector"},
			{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin"},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
			{verb: "create", group: databaseGroup, resource: "databases", namespace: consumerNS},
			{verb: "*", group: "bind.bindery.dev", resource: "consumers"},
			{verb: "list", resource: "pods", namespace: namespace},
			{verb: "impersonate", resource: "users"},
		})

		// Without a rule for the Database CRD, the API server refuses the Consumer's Role, and the
		// Consumer says so.
		_, _, err := newProvisioner(t, c.serviceAccountConfig(t, namespace, release)).Bind(ctx, identity(t, "alice"), cluster1, offeredService)
		if err == nil || !strings.Contains(err.Error(), "attempting to grant RBAC permissions not currently held") {
			t.Fatalf("binding %s without rules for its CRD: %v, want the API server's escalation refusal", offeredService, err)
		}
		consumer := onlyConsumer(t, c)
		releaseConsumer(t, c, consumer.Name)
		if cond := meta.FindStatusCondition(consumer.Status.Conditions, bindv1alpha1.ConsumerConditionReady); cond == nil ||
			cond.Reason != bindv1alpha1.ConsumerReasonProvisionFailed || !strings.Contains(cond.Message, "not currently held") {
			t.Errorf("Consumer %s: Ready %+v, want ProvisionFailed naming the rights not held", consumer.Name, cond)
		}
	})

	t.Run("development issuer, the backend running", func(t *testing.T) {
		const namespace, release, fullname = "bindery-dev", "dev", "dev-bindery-backend"
		r := render(t, release, namespace, "bindery-backend", "--values", chartPath(t, "bindery-backend", "ci", "dev-oidc-values.yaml"))
		if got, want := r.kinds(), []string{"ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"}; !slices.Equal(got, want) {
			t.Fatalf("rendered kinds %v, want %v (no Service: the page is on loopback)", got, want)
		}
		c.install(t, r)
		users := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "bindery-dev-users", Namespace: namespace},
			StringData: map[string]string{"users.yaml": "- username: alice\n  password: wonderland\n"},
		}
		if err := c.client.Create(ctx, users); err != nil {
			t.Fatal(err)
		}
		deployment := c.deployment(t, namespace, fullname)
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		flags := parseFlags(t, backendcli.NewCommand(), container.Args)
		checkFlags(t, flags, map[string]string{
			"namespace":                 namespace,
			"listen-address":            "127.0.0.1:8443",
			"dev-oidc":                  "true",
			"dev-oidc-address":          "127.0.0.1:5556",
			"dev-oidc-users-file":       "/etc/bindery/dev-oidc/users.yaml",
			"dev-oidc-state-dir":        "/var/lib/bindery/dev-oidc",
			"consumer-server-url":       "https://127.0.0.1:6443",
			"consumer-ca-file":          "/etc/bindery/consumer-ca/ca.crt",
			"tls-cert-file":             "",
			"oidc-issuer-url":           "",
			"external-url":              "",
			"leader-elect":              "true",
			"health-probe-bind-address": ":8081",
		})
		checkHardened(t, pod)
		checkBackendProbes(t, container, true)
		local := c.containerFiles(t, namespace, pod)
		if got, err := os.ReadFile(local(flags["consumer-ca-file"])); err != nil || !strings.Contains(string(got), "not a real certificate") {
			t.Errorf("--consumer-ca-file holds %q (%v), want consumerServer.ca.bundle", got, err)
		}

		// rbac.publishedResourceRules and relatedResourceRules: it holds what Consumers receive.
		c.checkAccess(t, namespace, fullname, []access{
			{verb: "create", group: databaseGroup, resource: "databases", namespace: "bindery-anyone", allowed: true},
			{verb: "delete", group: databaseGroup, resource: "databases", namespace: "bindery-anyone", allowed: true},
			{verb: "get", resource: "secrets", namespace: "bindery-anyone", allowed: true},
			{verb: "create", resource: "secrets", namespace: "bindery-anyone"},
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "bindery-anyone"},
		})

		// The backend as the chart's ServiceAccount with the chart's flags (other ports): it makes
		// its session key, takes its Lease, and its Service controller finds the Service Ready.
		p, health := c.startAsPod(t, "./cmd/bindery-backend", namespace, pod, local,
			"--listen-address=127.0.0.1:0", "--dev-oidc-address=127.0.0.1:0")
		waitHealthy(t, p, health)
		svc := &bindv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: offeredService}}
		c.waitForCondition(t, svc, func() []metav1.Condition { return svc.Status.Conditions },
			bindv1alpha1.ServiceConditionReady, metav1.ConditionTrue, bindv1alpha1.ServiceReasonReady)
		if err := c.client.Get(ctx, key(namespace, "bindery-backend-session"), &corev1.Secret{}); err != nil {
			t.Errorf("the session key Secret: %v", err)
		}
		lease := &coordinationv1.Lease{}
		if err := c.client.Get(ctx, key(namespace, "bindery-backend"), lease); err != nil || ptrValue(lease.Spec.HolderIdentity) == "" {
			t.Errorf("leader-election Lease %s/bindery-backend: %+v, %v; want one held", namespace, lease.Spec, err)
		}

		// A bind with the ServiceAccount's rights provisions the Consumer, whose credential reaches
		// its Databases; the running backend's Consumer controller agrees and revokes it when it is
		// deleted.
		sa := c.serviceAccountConfig(t, namespace, fullname)
		prov := newProvisioner(t, sa)
		consumer, _, err := prov.Bind(ctx, identity(t, "alice"), cluster1, offeredService)
		if err != nil {
			t.Fatalf("binding %s as the backend's ServiceAccount: %v", offeredService, err)
		}
		t.Cleanup(func() { releaseConsumer(t, c, consumer.Name) })
		c.waitForCondition(t, consumer, func() []metav1.Condition { return consumer.Status.Conditions },
			bindv1alpha1.ConsumerConditionReady, metav1.ConditionTrue, bindv1alpha1.ConsumerReasonProvisioned)
		kubeconfig, _, err := prov.Credential(ctx, consumer, 0)
		if err != nil {
			t.Fatalf("a credential as the backend's ServiceAccount: %v", err)
		}
		cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Host, cfg.CAData = c.config.Host, c.config.CAData // the kubeconfig names consumerServer.url
		databases := &unstructured.UnstructuredList{}
		databases.SetAPIVersion(databaseGroup + "/v1alpha1")
		databases.SetKind("DatabaseList")
		if err := framework.NewClient(t, cfg).List(ctx, databases, ctrlclient.InNamespace(consumers.NamespaceName(consumer.Name))); err != nil {
			t.Errorf("listing Databases with the Consumer's credential: %v", err)
		}
		if err := c.client.Delete(ctx, consumer); err != nil {
			t.Fatal(err)
		}
		framework.WaitFor(t, time.Minute, "Consumer "+consumer.Name+" revoked and gone", func(ctx context.Context) (bool, string, error) {
			err := c.client.Get(ctx, key("", consumer.Name), &bindv1alpha1.Consumer{})
			if err == nil {
				return false, "still there", nil
			}
			return ctrlclient.IgnoreNotFound(err) == nil, "", ctrlclient.IgnoreNotFound(err)
		})
		checkNoForbidden(t, p)
	})

	t.Run("all values", func(t *testing.T) {
		const namespace, release = "bind", "bind"
		r := render(t, release, namespace, "bindery-backend", "--values", chartPath(t, "bindery-backend", "ci", "all-values.yaml"))
		// sessionNamespace and what the values name exist before the install.
		for _, obj := range []ctrlclient.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bindery-sessions"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bind-example-com-tls", Namespace: namespace}, Type: corev1.SecretTypeTLS,
				StringData: map[string]string{"tls.crt": "cert", "tls.key": "key"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dex-clients", Namespace: namespace}, StringData: map[string]string{"bindery": "s3cret"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "provider-ca", Namespace: namespace}, Data: map[string]string{"provider.crt": "provider CA"}},
		} {
			if err := c.client.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
		c.install(t, r)
		deployment := c.deployment(t, namespace, "bind")
		pod := deployment.Spec.Template.Spec
		container := pod.Containers[0]
		flags := parseFlags(t, backendcli.NewCommand(), container.Args)
		checkFlags(t, flags, map[string]string{
			"namespace":                 "bindery-sessions",
			"listen-address":            ":9443",
			"external-url":              "https://bind.example.com:8443",
			"title":                     "Example databases",
			"session-duration":          "8h0m0s",
			"credential-ttl":            "30m0s",
			"oidc-issuer-url":           "https://dex.example.com",
			"oidc-client-id":            "bindery-backend",
			"oidc-scopes":               "email,groups",
			"oidc-username-claim":       "preferred_username",
			"oidc-username-prefix":      "dex:",
			"oidc-groups-claim":         "",
			"oidc-groups-prefix":        "",
			"metrics-bind-address":      "0",
			"health-probe-bind-address": ":9440",
			"zap-log-level":             "debug",
		})
		local := c.containerFiles(t, namespace, pod)
		for flag, want := range map[string]string{
			"oidc-ca-file":            "not a real certificate",
			"consumer-ca-file":        "provider CA",
			"oidc-client-secret-file": "s3cret",
			"tls-cert-file":           "cert",
		} {
			if got, err := os.ReadFile(local(flags[flag])); err != nil || !strings.Contains(string(got), want) {
				t.Errorf("--%s holds %q (%v), want %q", flag, got, err, want)
			}
		}
		checkAllValuesPod(t, deployment, "registry.example.com/bindery/bindery-backend:v0.1.0-rc.1", "bind-sa")
		checkHardened(t, pod)
		checkBackendProbes(t, container, false)
		service := &corev1.Service{}
		if err := c.client.Get(ctx, key(namespace, "bind"), service); err != nil || service.Spec.Type != corev1.ServiceTypeLoadBalancer ||
			service.Spec.Ports[0].Port != 8443 || service.Annotations["example.com/load-balancer"] != "internal" {
			t.Errorf("Service %+v (%v), want the values' LoadBalancer on 8443", service, err)
		}

		// rbac.escalate: any rules in a Role, bound only to Roles named konnector.
		c.checkAccess(t, namespace, "bind-sa", []access{
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "bindery-anyone", allowed: true},
			{verb: "bind", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "bindery-anyone", name: "konnector", allowed: true},
			{verb: "bind", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "bindery-anyone", name: "admin"},
			{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin"},
			{verb: "create", group: databaseGroup, resource: "databases", namespace: "bindery-anyone"},
			{verb: "get", resource: "secrets", namespace: "bindery-sessions", name: "bindery-backend-session", allowed: true},
			{verb: "get", resource: "secrets", namespace: namespace, name: "bindery-backend-session"},
		})
		consumer, _, err := newProvisioner(t, c.serviceAccountConfig(t, namespace, "bind-sa")).Bind(ctx, identity(t, "bob"), cluster1, offeredService)
		if err != nil {
			t.Fatalf("binding %s with escalate and no rule lists: %v", offeredService, err)
		}
		releaseConsumer(t, c, consumer.Name)
	})
}

// offerDatabases installs the example operator's Database CRD and offers it as the Service
// postgres, with the credentials Secret its operator writes related with origin provider.
func offerDatabases(t testing.TB, c *cluster) {
	t.Helper()
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(root + "/examples/database-operator/config/crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.install(t, &rendered{namespace: "default", crds: decodeYAML(t, data)})
	ctx := framework.Context(t)
	labels := map[string]string{"offer.example.com/service": offeredService}
	for _, obj := range []ctrlclient.Object{
		&syncagentv1alpha1.PublishedResource{
			ObjectMeta: metav1.ObjectMeta{Name: "databases", Labels: labels},
			Spec: syncagentv1alpha1.PublishedResourceSpec{
				Resource:   syncagentv1alpha1.SourceResource{APIGroup: databaseGroup, Kind: "Database"},
				Projection: &syncagentv1alpha1.Projection{Group: "databases.example.com"},
				Related: []syncagentv1alpha1.RelatedResource{{
					Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
					Object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "{{ .Object.metadata.name }}-credentials"}},
				}},
			},
		},
		&bindv1alpha1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: offeredService},
			Spec:       bindv1alpha1.ServiceSpec{Title: "PostgreSQL databases", PublishedResources: metav1.LabelSelector{MatchLabels: labels}},
		},
	} {
		if err := c.client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
}

// newProvisioner is the backend's Provisioner with cfg's rights: it reads and writes the API
// server directly, as the backend's binds do.
func newProvisioner(t testing.TB, cfg *rest.Config) *consumers.Provisioner {
	t.Helper()
	return &consumers.Provisioner{Client: framework.NewClient(t, cfg), Config: cfg, ServerURL: "https://provider.example.com:6443"}
}

// cluster1 is the consumer cluster the tests bind for.
var cluster1 = bindv1alpha1.ConsumerCluster{ID: "cluster-1", Name: "kind-1"}

// identity is a user as a trusted issuer vouches for them, with a subject of the test's own.
func identity(t testing.TB, name string) bindv1alpha1.ConsumerIdentity {
	t.Helper()
	return bindv1alpha1.ConsumerIdentity{Issuer: "https://issuer.example.com", Subject: framework.UniqueName(name), Username: "oidc:" + name + "@example.com"}
}

// onlyConsumer returns the one Consumer in the cluster.
func onlyConsumer(t testing.TB, c *cluster) *bindv1alpha1.Consumer {
	t.Helper()
	list := &bindv1alpha1.ConsumerList{}
	if err := c.client.List(framework.Context(t), list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d Consumers, want 1", len(list.Items))
	}
	return &list.Items[0]
}

// releaseConsumer deletes a Consumer and takes its finalizer off, for when no backend revokes it.
func releaseConsumer(t testing.TB, c *cluster, name string) {
	t.Helper()
	ctx := context.Background()
	consumer := &bindv1alpha1.Consumer{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.client.Delete(ctx, consumer); ctrlclient.IgnoreNotFound(err) != nil {
		t.Errorf("deleting Consumer %s: %v", name, err)
		return
	}
	if err := c.client.Get(ctx, key("", name), consumer); err != nil {
		return
	}
	patch := ctrlclient.MergeFrom(consumer.DeepCopy())
	consumer.Finalizers = nil
	if err := c.client.Patch(ctx, consumer, patch); ctrlclient.IgnoreNotFound(err) != nil {
		t.Errorf("releasing Consumer %s: %v", name, err)
	}
}

// checkBackendProbes checks that liveness asks /healthz of the health port and readiness /healthz
// of the page and API over HTTPS, or of the health port when the page is on loopback (dev).
func checkBackendProbes(t testing.TB, container corev1.Container, dev bool) {
	t.Helper()
	live, ready := container.LivenessProbe, container.ReadinessProbe
	if live == nil || live.HTTPGet == nil || live.HTTPGet.Path != "/healthz" || live.HTTPGet.Port.String() != "health" {
		t.Errorf("liveness probe %+v, want GET /healthz on the health port", live)
	}
	wantPort, wantScheme := "https", corev1.URISchemeHTTPS
	if dev {
		wantPort, wantScheme = "health", corev1.URISchemeHTTP
	}
	if ready == nil || ready.HTTPGet == nil || ready.HTTPGet.Path != "/healthz" || ready.HTTPGet.Port.String() != wantPort || ready.HTTPGet.Scheme != wantScheme {
		t.Errorf("readiness probe %+v, want GET /healthz on port %s (%s)", ready, wantPort, wantScheme)
	}
}

// selects reports whether a Service's selector matches pod labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}
