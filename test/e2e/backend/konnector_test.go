package backend

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestKubeToKube is the whole Kube -> Kube scenario: alice runs `kubectl bindery bind`, signs in
// and picks the Database Service in the browser, and the command returns once the konnector has
// the binding Ready; a Database she creates in her cluster is run by the provider's operator;
// status and the credentials Secret come back next to it; an update goes down; deleting it
// deletes its copy; the provider sees the konnector's heartbeat.
func TestKubeToKube(t *testing.T) {
	env := newKubeToKube(t)
	consumerCluster := framework.StartKube(t, "deploy/crd")
	consumer := framework.NewClient(t, consumerCluster.Config())
	startKonnector(t, consumerCluster.Config())
	bound := kubectlBind(t, env, consumerCluster.Config(), alice)
	p := env.provisioning

	ctx := framework.Context(t)
	received := bound.received
	shop := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	if err := consumer.Create(ctx, shop); err != nil {
		t.Fatal(err)
	}
	orders := &unstructured.Unstructured{}
	orders.SetGroupVersionKind(received)
	orders.SetNamespace("shop")
	orders.SetName("orders")
	_ = unstructured.SetNestedField(orders.Object, "postgres", "spec", "engine")
	_ = unstructured.SetNestedField(orders.Object, int64(5), "spec", "storageGB")
	framework.CreateWhenServed(t, consumer, orders)

	copies := func(ctx context.Context) []unstructured.Unstructured {
		list := databaseList()
		if err := p.admin.List(ctx, list, client.InNamespace(bound.Namespace)); err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	framework.WaitFor(t, time.Minute, "the Database's copy in alice's provider namespace", func(ctx context.Context) (bool, string, error) {
		n := len(copies(ctx))
		return n == 1, "copies: " + itoa(n), nil
	})

	var secretName string
	framework.WaitFor(t, 2*time.Minute, "the operator's status and credentials back in alice's cluster", func(ctx context.Context) (bool, string, error) {
		if err := consumer.Get(ctx, client.ObjectKeyFromObject(orders), orders); err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(orders.Object, "status", "phase")
		secretName, _, _ = unstructured.NestedString(orders.Object, "status", "credentialsSecretRef", "name")
		if phase != "Ready" || secretName == "" {
			return false, "phase " + phase + ", secret " + secretName, nil
		}
		err := consumer.Get(ctx, client.ObjectKey{Namespace: "shop", Name: secretName}, &corev1.Secret{})
		return err == nil, "the Secret " + secretName + ": " + errString(err), nil
	})

	_ = unstructured.SetNestedField(orders.Object, int64(20), "spec", "storageGB")
	if err := consumer.Update(ctx, orders); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the update on the copy", func(ctx context.Context) (bool, string, error) {
		items := copies(ctx)
		if len(items) != 1 {
			return false, "copies: " + itoa(len(items)), nil
		}
		size, _, _ := unstructured.NestedInt64(items[0].Object, "spec", "storageGB")
		return size == 20, "storageGB " + itoa(int(size)), nil
	})

	framework.WaitFor(t, time.Minute, "the provider to see the konnector connected", func(ctx context.Context) (bool, string, error) {
		var c bindv1alpha1.Consumer
		if err := p.admin.Get(ctx, client.ObjectKey{Name: bound.Consumer}, &c); err != nil {
			return false, "", err
		}
		return meta.IsStatusConditionTrue(c.Status.Conditions, bindv1alpha1.ConsumerConditionKonnectorConnected), "not connected", nil
	})

	if err := consumer.Delete(ctx, orders); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the Database and its copy to be gone", func(ctx context.Context) (bool, string, error) {
		err := consumer.Get(ctx, client.ObjectKeyFromObject(orders), &unstructured.Unstructured{Object: map[string]any{"apiVersion": received.GroupVersion().String(), "kind": received.Kind}})
		n := len(copies(ctx))
		return n == 0 && client.IgnoreNotFound(err) == nil && err != nil, "copies " + itoa(n) + ", original: " + errString(err), nil
	})
}

// kubeToKube is a provider with the Database Service, its operator and a backend.
type kubeToKube struct {
	backend      *backendProcess
	provisioning *provisioning
	service      *bindv1alpha1.Service
}

func newKubeToKube(t *testing.T) *kubeToKube {
	t.Helper()
	backend := startBackend(t)
	p := newProvisioning(t)
	databases := p.databases()
	p.waitChecked(databases, metav1.ConditionTrue)
	p.grantBind(alice.Username(), databases.Name)
	p.grantBind(bob.Username(), databases.Name)
	startOperator(t, provider.Config())
	return &kubeToKube{backend: backend, provisioning: p, service: databases}
}

// cliBinding is what `kubectl bindery bind` left in the consumer cluster.
type cliBinding struct {
	Namespace, Consumer string
	received            schema.GroupVersionKind
}

// kubectlBind runs `kubectl bindery bind` against the consumer cluster, completes its sign-in and
// Service pick in the browser, and returns once the command has seen the binding Ready.
func kubectlBind(t *testing.T, env *kubeToKube, consumer *rest.Config, u user) cliBinding {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	ctx := framework.Context(t)
	bind := exec.CommandContext(ctx, framework.Binary(t, "./cmd/kubectl-bindery"), "bind", env.backend.url,
		"--kubeconfig", framework.WriteKubeconfig(t, "consumer-cli", consumer), "--no-browser", "--konnector=skip", "--wait", "2m")
	output, writer := io.Pipe()
	bind.Stdout, bind.Stderr = writer, writer
	if err := bind.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(output)
	signInURL := printedURL(t, lines)
	var printed strings.Builder
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for lines.Scan() {
			printed.WriteString(lines.Text() + "\n")
		}
	}()
	steps, cancel := context.WithTimeout(framework.Browser(t, true), 2*time.Minute)
	defer cancel()
	act(t, steps, chromedp.Navigate(signInURL))
	enterCredentials(t, steps, u)
	act(t, steps, chromedp.WaitVisible(chromedp.ID("pick-"+env.service.Name)), chromedp.Click(chromedp.ID("pick-"+env.service.Name)))
	err := bind.Wait()
	writer.Close()
	<-drained
	if err != nil {
		t.Fatalf("kubectl bindery bind: %v\n%s", err, printed.String())
	}
	c := framework.NewClient(t, consumer)
	var binding bindv1alpha1.ServiceBinding
	if err := c.Get(ctx, client.ObjectKey{Name: env.service.Name}, &binding); err != nil {
		t.Fatalf("the ServiceBinding kubectl bindery bind made: %v\n%s", err, printed.String())
	}
	if !meta.IsStatusConditionTrue(binding.Status.Conditions, bindv1alpha1.BindingConditionReady) || len(binding.Status.Resources) != 1 {
		t.Fatalf("kubectl bindery bind returned with the binding %+v\n%s", binding.Status, printed.String())
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := c.Get(ctx, client.ObjectKey{Name: binding.Status.Resources[0].CRD}, &crd); err != nil {
		t.Fatal(err)
	}
	return cliBinding{Namespace: binding.Spec.ProviderNamespace, Consumer: binding.Spec.Consumer,
		received: schema.GroupVersionKind{Group: crd.Spec.Group, Version: crd.Spec.Versions[0].Name, Kind: crd.Spec.Names.Kind}}
}

// bindInto binds the Service for the consumer cluster and writes what kubectl bindery bind
// writes there: the credential Secret and the ServiceBinding.
func bindInto(t *testing.T, consumer client.Client, backendURL string, session *bindprotocol.Session, service string) (*bindprotocol.BindResponse, *bindv1alpha1.ServiceBinding) {
	t.Helper()
	return bindIntoAs(t, consumer, backendURL, session, service, "")
}

// bindIntoAs is bindInto receiving the Service's APIs under group (empty: the provider's).
func bindIntoAs(t *testing.T, consumer client.Client, backendURL string, session *bindprotocol.Session, service, group string) (*bindprotocol.BindResponse, *bindv1alpha1.ServiceBinding) {
	t.Helper()
	return framework.BindInto(t, consumer, backendURL, session, service, group)
}

// startKonnector runs bindery-konnector against the consumer cluster until the test ends.
func startKonnector(t *testing.T, consumer *rest.Config) *framework.Process {
	t.Helper()
	return framework.StartKonnector(t, consumer)
}

// waitBindingReady waits until the konnector reports the binding Ready.
func waitBindingReady(t *testing.T, consumer client.Client, binding *bindv1alpha1.ServiceBinding) {
	t.Helper()
	framework.WaitBindingReady(t, consumer, binding)
}

// receivedKind is the kind alice's cluster serves the Service's API as.
func receivedKind(t *testing.T, bound *bindprotocol.BindResponse) schema.GroupVersionKind {
	t.Helper()
	if len(bound.Resources) != 1 || len(bound.Resources[0].Consumer.Versions) == 0 {
		t.Fatalf("the bind returned %+v, want one resource", bound.Resources)
	}
	r := bound.Resources[0].Consumer
	return schema.GroupVersionKind{Group: r.Group, Version: r.Versions[0], Kind: r.Kind}
}

func itoa(n int) string { return strconv.Itoa(n) }
