package backend

import (
	"context"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestSignInPickAndBind is the provider side of Kube -> Kube: alice signs in in a real browser,
// sees only the Service the provider's RBAC lets her bind, picks it, and binds it; the provider's
// kube-apiserver names her as the backend does, and the credential she gets can do exactly what
// her Consumer's Role says.
func TestSignInPickAndBind(t *testing.T) {
	backend := startBackend(t)
	p := newProvisioning(t)
	databases := p.databases()
	hidden := p.databases()
	p.waitChecked(databases, metav1.ConditionTrue)
	p.waitChecked(hidden, metav1.ConditionTrue)
	p.grantBind(alice.Username(), databases.Name)

	browser := framework.Browser(t, true)
	session := signIn(t, browser, backend.url, alice, databases.Name, func(page context.Context) {
		if who := text(t, page, "user"); who != "alice" {
			t.Errorf("the page says it is signed in as %q, want alice", who)
		}
		if present(t, page, "service-"+hidden.Name) {
			t.Errorf("the page offers Service %s, which alice may not bind", hidden.Name)
		}
		if title := text(t, page, "service-"+databases.Name); !strings.Contains(title, "PostgreSQL databases") {
			t.Errorf("the Service's entry reads %q, want its title", title)
		}
	})
	if session.Service != databases.Name || session.User.Username != alice.Username() {
		t.Fatalf("the login returned service %q for %q, want %q for %q", session.Service, session.User.Username, databases.Name, alice.Username())
	}

	t.Run("the provider's kube-apiserver names alice as the backend does", func(t *testing.T) {
		info := providerUserInfo(t, issuerIDToken(t, browser, alice))
		if info.Username != session.User.Username {
			t.Errorf("kube-apiserver: %q, backend: %q", info.Username, session.User.Username)
		}
		if !slices.Contains(info.Groups, "oidc:developers") || !slices.Contains(session.User.Groups, "oidc:developers") {
			t.Errorf("groups: kube-apiserver %v, backend %v; want oidc:developers in both", info.Groups, session.User.Groups)
		}
	})

	api := apiClient(t, backend.url, session)
	listed, err := api.Services(framework.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Name != databases.Name || !listed[0].Available {
		t.Fatalf("the API lists %+v, want only the available %s", listed, databases.Name)
	}
	cluster := bindprotocol.Cluster{ID: framework.UniqueName("cluster"), Name: "alice-laptop"}
	bound, err := api.Bind(framework.Context(t), databases.Name, bindprotocol.BindRequest{Cluster: cluster})
	if err != nil {
		t.Fatalf("binding: %v", err)
	}
	checkProvisioned(t, p, bound, alice)
	checkCRDs(t, bound)
	t.Run("the credential can do what the Role says and nothing else", func(t *testing.T) {
		checkCredential(t, bound)
	})

	again, err := api.Bind(framework.Context(t), databases.Name, bindprotocol.BindRequest{Cluster: cluster})
	if err != nil {
		t.Fatalf("binding again: %v", err)
	}
	if again.Consumer != bound.Consumer || again.Namespace != bound.Namespace {
		t.Errorf("binding again made Consumer %s in %s, want the same %s in %s", again.Consumer, again.Namespace, bound.Consumer, bound.Namespace)
	}
	if n := len(p.consumersOf(cluster.ID)); n != 1 {
		t.Errorf("%d Consumers for the cluster after two binds, want 1", n)
	}
}

// checkProvisioned looks at what the bind left on the provider cluster.
func checkProvisioned(t *testing.T, p *provisioning, bound *bindprotocol.BindResponse, u user) {
	t.Helper()
	var consumer bindv1alpha1.Consumer
	if err := p.admin.Get(p.ctx, client.ObjectKey{Name: bound.Consumer}, &consumer); err != nil {
		t.Fatalf("the Consumer %s: %v", bound.Consumer, err)
	}
	if consumer.Spec.Identity.Username != u.Username() || consumer.Spec.Identity.Issuer != "https://"+issuerAddress || consumer.Spec.Identity.Subject == "" {
		t.Errorf("the Consumer's identity is %+v, want %s of the embedded issuer", consumer.Spec.Identity, u.Username())
	}
	if consumer.Status.Namespace != bound.Namespace || consumer.Status.ServiceAccount != bound.ServiceAccount {
		t.Errorf("the Consumer's status says %s/%s, the bind %s/%s", consumer.Status.Namespace, consumer.Status.ServiceAccount, bound.Namespace, bound.ServiceAccount)
	}
	for _, list := range []client.ObjectList{&corev1.NamespaceList{}, &corev1.ServiceAccountList{}, &rbacv1.RoleList{}, &rbacv1.RoleBindingList{}} {
		if err := p.admin.List(p.ctx, list, client.MatchingLabels{bindv1alpha1.ConsumerLabel: bound.Consumer}); err != nil {
			t.Fatal(err)
		}
		if n := meta.LenList(list); n != 1 {
			t.Errorf("%d items of %T labelled for the Consumer, want 1", n, list)
		}
	}
}

// checkCRDs: the consumer receives the projected API, not the provider's.
func checkCRDs(t *testing.T, bound *bindprotocol.BindResponse) {
	t.Helper()
	if len(bound.CRDs) != 1 || len(bound.Resources) != 1 {
		t.Fatalf("the bind returned %d CRDs and %d resources, want 1 each", len(bound.CRDs), len(bound.Resources))
	}
	crd, res := bound.CRDs[0], bound.Resources[0]
	if crd.Spec.Group == "db.provider.example" || crd.Spec.Group != res.Consumer.Group || crd.Spec.Names.Kind != "Database" {
		t.Errorf("the CRD is %s %s, want the projected group %s", crd.Spec.Names.Kind, crd.Spec.Group, res.Consumer.Group)
	}
	if res.Provider.Group != "db.provider.example" || res.Provider.Resource != "databases" {
		t.Errorf("the provider side is %+v, want databases.db.provider.example", res.Provider)
	}
}

// checkCredential proves the returned kubeconfig with real requests.
func checkCredential(t *testing.T, bound *bindprotocol.BindResponse) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(bound.Kubeconfig)
	if err != nil {
		t.Fatalf("the kubeconfig: %v", err)
	}
	ctx := framework.Context(t)
	c := framework.NewClient(t, cfg)
	kube := kubernetes.NewForConfigOrDie(cfg)
	db := &unstructured.Unstructured{}
	db.SetGroupVersionKind(schema.GroupVersionKind{Group: "db.provider.example", Version: "v1alpha1", Kind: "Database"})
	db.SetNamespace(bound.Namespace)
	db.SetName("orders")
	_ = unstructured.SetNestedField(db.Object, "postgres", "spec", "engine")
	if err := c.Create(ctx, db); err != nil {
		t.Errorf("creating a Database in its namespace: %v", err)
	}
	var dbs unstructured.UnstructuredList
	dbs.SetGroupVersionKind(db.GroupVersionKind())
	if err := c.List(ctx, &dbs, client.InNamespace(bound.Namespace)); err != nil {
		t.Errorf("listing Databases in its namespace: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: bound.Namespace, Name: "orders-credentials"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("reading a credentials Secret in its namespace: %v, want NotFound (allowed, not there yet)", err)
	}
	if _, err := kube.CoreV1().ServiceAccounts(bound.Namespace).CreateToken(ctx, bound.ServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("renewing its own token: %v", err)
	}
	forbidden := map[string]error{
		"writing a Secret":             c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: bound.Namespace, Name: "planted"}}),
		"listing ConfigMaps":           c.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(bound.Namespace)),
		"listing Databases in default": c.List(ctx, &dbs, client.InNamespace("default")),
		"listing Databases everywhere": c.List(ctx, &dbs),
		"listing Namespaces":           c.List(ctx, &corev1.NamespaceList{}),
		"listing Pods":                 c.List(ctx, &corev1.PodList{}, client.InNamespace(bound.Namespace)),
		"reading its Role":             c.Get(ctx, client.ObjectKey{Namespace: bound.Namespace, Name: bound.ServiceAccount}, &rbacv1.Role{}),
	}
	_, tokenErr := kube.CoreV1().ServiceAccounts(bound.Namespace).CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	forbidden["a token for another ServiceAccount"] = tokenErr
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		}
	}
}
