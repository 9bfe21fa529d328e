package backend

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/framework"
)

// TestSameAPIFromTwoProviders: two providers offer the same API under the same group; alice's
// cluster receives the second one under a group of her choosing, and each Database goes to the
// provider of its group. The second backend signs users in at the first one's embedded issuer as
// an external OIDC issuer (client ID, secret file, CA file), as a backend next to Keycloak would.
func TestSameAPIFromTwoProviders(t *testing.T) {
	secondListen, err := freeAddress()
	if err != nil {
		t.Fatal(err)
	}
	const secondClient, secondSecret = "second-backend", "second-backend-secret"
	first := startBackend(t, "--dev-oidc-extra-client", secondClient+":"+secondSecret+":http://"+secondListen+"/callback")
	group := framework.UniqueName("db") + ".shared.example"
	p1 := newProvisioning(t)
	svc1 := p1.databasesAs(group)
	p1.waitChecked(svc1, metav1.ConditionTrue)
	p1.grantBind(alice.Username(), svc1.Name)
	startOperator(t, provider.Config())

	secondProvider := framework.StartKube(t, "deploy/crd", "examples/database-operator/config/crd.yaml")
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secretFile, []byte(secondSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	second := startBackendOn(t, secondProvider.Config(), secondListen,
		"--oidc-issuer-url", "https://"+issuerAddress, "--oidc-client-id", secondClient,
		"--oidc-client-secret-file", secretFile, "--oidc-ca-file", filepath.Join(issuerStateDir, "ca.crt"))
	p2 := newProvisioningOn(t, secondProvider.Config())
	svc2 := p2.databasesAs(group)
	p2.waitChecked(svc2, metav1.ConditionTrue)
	p2.grantBind(alice.Username(), svc2.Name)
	startOperator(t, secondProvider.Config())

	consumerCluster := framework.StartKube(t, "deploy/crd")
	consumer := framework.NewClient(t, consumerCluster.Config())
	startKonnector(t, consumerCluster.Config())
	browser := framework.Browser(t, true)
	renamed := framework.UniqueName("second") + ".alice.example"
	bound1, binding1 := bindIntoAs(t, consumer, first.url, signIn(t, browser, first.url, alice, "", nil), svc1.Name, "")
	bound2, binding2 := bindIntoAs(t, consumer, second.url, signIn(t, browser, second.url, alice, "", nil), svc2.Name, renamed)
	waitBindingReady(t, consumer, binding1)
	waitBindingReady(t, consumer, binding2)

	createNamespace(t, consumer, "shop")
	for _, g := range []string{group, renamed} {
		db := &unstructured.Unstructured{}
		db.SetGroupVersionKind(schema.GroupVersionKind{Group: g, Version: "v1alpha1", Kind: "Database"})
		db.SetNamespace("shop")
		db.SetName("orders")
		_ = unstructured.SetNestedField(db.Object, "postgres", "spec", "engine")
		framework.CreateWhenServed(t, consumer, db)
	}
	for _, side := range []struct {
		name      string
		admin     client.Client
		namespace string
	}{{"the first provider", p1.admin, bound1.Namespace}, {"the second provider", p2.admin, bound2.Namespace}} {
		framework.WaitFor(t, time.Minute, "one copy at "+side.name, func(ctx context.Context) (bool, string, error) {
			list := databaseList()
			if err := side.admin.List(ctx, list, client.InNamespace(side.namespace)); err != nil {
				return false, "", err
			}
			return len(list.Items) == 1, fmt.Sprintf("%d copies", len(list.Items)), nil
		})
	}
}

// startOperator runs the example database operator against a provider cluster.
func startOperator(t *testing.T, cfg *rest.Config) {
	t.Helper()
	framework.StartProcess(t, "database-operator", framework.Binary(t, "./examples/database-operator"),
		"--kubeconfig", framework.WriteKubeconfig(t, "operator", cfg), "--install-crd=false")
}
