package workspacebackend

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestTeamClustersAreIsolatedInTheWorkspace binds two team clusters (alice's and bob's) to the
// one workspace: each gets a Consumer namespace there, and the credential of one is Forbidden on
// the other's namespace (Databases, Secrets, BoundAPIs) and across the workspace, while it works
// on its own; neither cluster receives the other's objects.
func TestTeamClustersAreIsolatedInTheWorkspace(t *testing.T) {
	c := newChain(t)
	clusters := []*teamCluster{c.bindCluster(t, alice), c.bindCluster(t, bob)}
	if clusters[0].namespace == clusters[1].namespace {
		t.Fatalf("both clusters got namespace %s in the workspace", clusters[0].namespace)
	}
	ctx := framework.Context(t)
	for _, tc := range clusters {
		createNamespace(t, tc.client, "shop")
		framework.CreateWhenServed(t, tc.client, framework.Database(tc.kind, "shop", "orders"))
	}
	for _, tc := range clusters {
		waitReadyWithSecret(t, tc, "orders")
	}

	for i, tc := range clusters {
		other := clusters[1-i]
		t.Logf("the credential of %s's Consumer on %s's namespace", tc.consumer, other.consumer)
		own, err := list(ctx, tc.credential, c.kind, tc.namespace)
		if err != nil || len(own) != 1 {
			t.Fatalf("its own namespace %s: %d Databases, %v; want its one", tc.namespace, len(own), err)
		}
		secretName, _, _ := unstructured.NestedString(own[0].Object, "status", "credentialsSecretRef", "name")
		for what, err := range map[string]error{
			"listing Databases":            listErr(ctx, tc.credential, c.kind, other.namespace),
			"listing Databases everywhere": listErr(ctx, tc.credential, c.kind, ""),
			"reading the credentials":      tc.credential.Get(ctx, client.ObjectKey{Namespace: other.namespace, Name: secretName}, &corev1.Secret{}),
			"listing Secrets":              tc.credential.List(ctx, &corev1.SecretList{}, client.InNamespace(other.namespace)),
			"listing BoundAPIs":            tc.credential.List(ctx, &bindv1alpha1.BoundAPIList{}, client.InNamespace(other.namespace)),
			"listing Consumers":            tc.credential.List(ctx, &bindv1alpha1.ConsumerList{}),
			"creating a Database there":    tc.credential.Create(ctx, framework.Database(c.kind, other.namespace, "intruder")),
		} {
			if !apierrors.IsForbidden(err) {
				t.Errorf("%s in %s's namespace: %v, want Forbidden", what, other.consumer, err)
			}
		}
		if err := tc.credential.Get(ctx, client.ObjectKey{Namespace: tc.namespace, Name: secretName}, &corev1.Secret{}); err != nil {
			t.Errorf("reading its own credentials Secret in %s: %v", tc.namespace, err)
		}
		// kcp binds a ServiceAccount's token to its workspace.
		elsewhere := rest.CopyConfig(c.exporter.Config)
		elsewhere.BearerToken, elsewhere.TLSClientConfig.CertData, elsewhere.TLSClientConfig.KeyData = tc.token, nil, nil
		if err := framework.NewClient(t, elsewhere).List(ctx, &corev1.NamespaceList{}); !apierrors.IsUnauthorized(err) && !apierrors.IsForbidden(err) {
			t.Errorf("the credential in another workspace, %s: %v, want it refused", c.exporter.Path, err)
		}
		received, err := list(ctx, tc.client, tc.kind, "")
		if err != nil || len(received) != 1 {
			t.Errorf("%s's cluster holds %d Databases (%v), want only its own", tc.consumer, len(received), err)
		}
	}
	framework.WaitFor(t, time.Minute, "one copy per team cluster in the provider cluster", func(ctx context.Context) (bool, string, error) {
		copies, err := c.providerCopies(ctx)
		return err == nil && len(copies) == 2, fmt.Sprintf("copies: %v", copies), err
	})
}

// listErr is the error of listing the kind in namespace (everywhere for "").
func listErr(ctx context.Context, c client.Client, kind schema.GroupVersionKind, namespace string) error {
	_, err := list(ctx, c, kind, namespace)
	return err
}
