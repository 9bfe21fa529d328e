package framework

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/test/servers"
)

// BindInto binds the Service at a bindery-backend for the consumer cluster with the session's
// user and writes what `kubectl bindery bind` writes there (WriteBinding), receiving the APIs
// under group (empty: the provider's).
func BindInto(t testing.TB, consumer ctrlclient.Client, backendURL string, session *bindprotocol.Session, service, group string) (*bindprotocol.BindResponse, *bindv1alpha1.ServiceBinding) {
	t.Helper()
	api, err := bindclient.NewClient(backendURL, session, nil)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := api.Bind(Context(t), service, bindprotocol.BindRequest{Cluster: bindprotocol.Cluster{ID: ClusterID(t, consumer)}})
	if err != nil {
		t.Fatalf("binding: %v", err)
	}
	return bound, WriteBinding(t, consumer, backendURL, service, bound, group)
}

// ClusterID is the consumer cluster's identity as kubectl bindery bind sends it: the UID of its
// kube-system namespace.
func ClusterID(t testing.TB, consumer ctrlclient.Client) string {
	t.Helper()
	var kubeSystem corev1.Namespace
	if err := consumer.Get(Context(t), ctrlclient.ObjectKey{Name: "kube-system"}, &kubeSystem); err != nil {
		t.Fatal(err)
	}
	return string(kubeSystem.UID)
}

// WriteBinding writes what `kubectl bindery bind` writes into the consumer cluster for the bind
// of the Service at backendURL: the credential Secret in bindery-system and the ServiceBinding,
// receiving the APIs under group (empty: the provider's).
func WriteBinding(t testing.TB, consumer ctrlclient.Client, backendURL, service string, bound *bindprotocol.BindResponse, group string) *bindv1alpha1.ServiceBinding {
	t.Helper()
	ctx := Context(t)
	for _, obj := range []ctrlclient.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bindery-system"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "bindery-system", Name: service + "-credential"},
			Data: map[string][]byte{bindv1alpha1.CredentialKubeconfigKey: bound.Kubeconfig}},
	} {
		if err := consumer.Create(ctx, obj); ctrlclient.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
	binding := &bindv1alpha1.ServiceBinding{
		ObjectMeta: metav1.ObjectMeta{Name: service},
		Spec: bindv1alpha1.ServiceBindingSpec{
			Backend: backendURL, Service: service, Consumer: bound.Consumer, ProviderNamespace: bound.Namespace,
			CredentialSecret: bindv1alpha1.SecretReference{Namespace: "bindery-system", Name: service + "-credential"},
			Group:            group,
		},
	}
	if err := consumer.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	return binding
}

// StartKonnector runs bindery-konnector against the consumer cluster until the test ends.
func StartKonnector(t testing.TB, consumer *rest.Config) *Process {
	t.Helper()
	return StartProcess(t, "bindery-konnector", Binary(t, "./cmd/bindery-konnector"),
		"--kubeconfig", WriteKubeconfig(t, "consumer", consumer), "--namespace", "bindery-system",
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
}

// WaitBindingReady waits until the konnector reports the binding Ready.
func WaitBindingReady(t testing.TB, consumer ctrlclient.Client, binding *bindv1alpha1.ServiceBinding) {
	t.Helper()
	WaitFor(t, 2*time.Minute, "ServiceBinding "+binding.Name+" to be Ready", func(ctx context.Context) (bool, string, error) {
		if err := consumer.Get(ctx, ctrlclient.ObjectKeyFromObject(binding), binding); err != nil {
			return false, "", err
		}
		ready := meta.FindStatusCondition(binding.Status.Conditions, bindv1alpha1.BindingConditionReady)
		if ready == nil {
			return false, "no Ready condition", nil
		}
		return ready.Status == metav1.ConditionTrue, ready.Reason + ": " + ready.Message, nil
	})
}

// InstallCRDs installs the CRD manifests at paths (files or folders, relative to the repository
// root) into the cluster or kcp workspace cfg addresses and waits until they are served.
func InstallCRDs(t testing.TB, cfg *rest.Config, paths ...string) {
	t.Helper()
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	opts := envtest.CRDInstallOptions{ErrorIfPathMissing: true, MaxTime: 2 * time.Minute}
	for _, p := range paths {
		opts.Paths = append(opts.Paths, root+"/"+p)
	}
	if _, err := envtest.InstallCRDs(cfg, opts); err != nil {
		t.Fatalf("installing the CRDs of %v into %s: %v", paths, cfg.Host, err)
	}
}

// ProvisionBinding binds the Service for the consumer cluster as bindery-backend does for a
// signed-in user, without the sign-in (benchmarks, which do not measure it): provisioner makes the
// Consumer of a fixed identity and issues its one-hour credential. The answer is what the
// backend returns for one bound resource; WriteBinding writes it into the consumer cluster.
func ProvisionBinding(t testing.TB, provisioner *consumers.Provisioner, consumer ctrlclient.Client, service string) *bindprotocol.BindResponse {
	t.Helper()
	ctx := Context(t)
	identity := bindv1alpha1.ConsumerIdentity{Issuer: "https://issuer.bench.invalid", Subject: "bench", Username: "oidc:bench"}
	bound, resolved, err := provisioner.Bind(ctx, identity, bindv1alpha1.ConsumerCluster{ID: ClusterID(t, consumer)}, service)
	if err != nil {
		t.Fatalf("binding the Service: %v", err)
	}
	kubeconfig, _, err := provisioner.Credential(ctx, bound, time.Hour)
	if err != nil {
		t.Fatalf("issuing the credential: %v", err)
	}
	resources := resolved.BoundResources()
	if len(resources) != 1 || len(resources[0].Consumer.Versions) == 0 {
		t.Fatalf("the Service resolved to %+v, want one resource", resources)
	}
	return &bindprotocol.BindResponse{Consumer: bound.Name, Namespace: bound.Status.Namespace, Kubeconfig: kubeconfig, Resources: resources}
}
