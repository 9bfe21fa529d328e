package kubectlbindery

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// fieldManager is the server-side apply field manager of everything bind writes, so that a
// second bind updates its own fields and `kubectl get --show-managed-fields` says who wrote them.
const fieldManager = "kubectl-bindery"

// consumerScheme knows what bind, bindings and unbind read and write in a consumer cluster.
var consumerScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(bindv1alpha1.AddToScheme(s))
	return s
}()

// consumerTarget is the consumer cluster as the kubeconfig names it.
type consumerTarget struct {
	config *rest.Config
	// context is the kubeconfig context's name.
	context string
}

// loadTarget reads the kubeconfig as the root flags say (--kubeconfig, --context, --server) and
// keeps the context's name, which bind sends to the backend for humans.
func loadTarget(kubeconfig, context, server string) (*consumerTarget, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{
		CurrentContext: context, ClusterInfo: clientcmdapi.Cluster{Server: server},
	})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	if context == "" {
		context = raw.CurrentContext
	}
	return &consumerTarget{config: cfg, context: context}, nil
}

// connect loads the consumer cluster and a client of it.
func connect(cluster func() (*consumerTarget, error)) (client.Client, *consumerTarget, error) {
	target, err := cluster()
	if err != nil {
		return nil, nil, err
	}
	c, err := newConsumerClient(target.config)
	return c, target, err
}

// newConsumerClient is a client of the consumer cluster: the plain Kubernetes cluster of the
// kubeconfig's context, not kcp.
func newConsumerClient(cfg *rest.Config) (client.Client, error) {
	c, err := client.New(cfg, client.Options{Scheme: consumerScheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster at %s: %w", cfg.Host, err)
	}
	return c, nil
}

// clusterIdentity is the UID of the kube-system namespace, which the provider keys the
// Consumer by: it stays the same for the cluster's life, whatever the kubeconfig calls it.
func clusterIdentity(ctx context.Context, c client.Client) (string, error) {
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: metav1.NamespaceSystem}, ns); err != nil {
		return "", fmt.Errorf("reading the kube-system namespace, whose UID identifies this cluster to the provider: %w "+
			"(bind needs to get namespaces/kube-system in the target cluster: check --context and your rights there)", err)
	}
	if ns.UID == "" {
		return "", fmt.Errorf("the kube-system namespace has no UID, so this cluster has no identity to bind with")
	}
	return string(ns.UID), nil
}

// apply writes obj with server-side apply as kubectl-bindery, forcing ownership: what bind
// owns is put back as bind wants it, even after a hand edit. obj is updated with the answer.
// Status is never applied (it is the konnector's), nor the zero creationTimestamp a typed
// object carries.
func apply(ctx context.Context, c client.Client, obj client.Object) error {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return err
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	delete(content, "status")
	unstructured.RemoveNestedField(content, "metadata", "creationTimestamp")
	u := &unstructured.Unstructured{Object: content}
	u.SetGroupVersionKind(gvk)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(obj), err)
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj)
}

// applyWhenServed applies obj, retrying for a moment while its API is not in discovery yet: a
// CRD that was just established is served a moment later.
func applyWhenServed(ctx context.Context, c client.Client, obj client.Object) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		lastErr = apply(ctx, c, obj)
		return !meta.IsNoMatchError(lastErr), nil
	})
	if err != nil {
		return fmt.Errorf("%w (the API is not served yet)", lastErr)
	}
	return lastErr
}
