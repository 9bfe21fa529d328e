package kubectlbind

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
	"github.com/bindery-dev/bindery/pkg/kubectlbindery"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

// konnectorImage is what the tests install as the konnector; nothing pulls it here.
const konnectorImage = "example.test/bindery-konnector:e2e"

func TestBindWritesTheBindingAndInstallsTheKonnector(t *testing.T) {
	e := newEnv(t)
	resp := e.response()
	out := &framework.SyncBuffer{}
	var asked bindprotocol.Cluster
	bind := e.consumerBind(resp, out, &asked)
	bind.Konnector, bind.KonnectorImage = kubectlbindery.KonnectorInstall, konnectorImage
	binding, err := bind.Run(e.ctx)
	if err != nil {
		t.Fatalf("bind: %v\n%s", err, out)
	}
	t.Logf("bind printed:\n%s", out)

	kubeSystem := &corev1.Namespace{}
	if err := e.c.Get(e.ctx, client.ObjectKey{Name: "kube-system"}, kubeSystem); err != nil {
		t.Fatal(err)
	}
	if asked.ID != string(kubeSystem.UID) || asked.Name != contextName {
		t.Errorf("the backend was asked to bind cluster %+v, want the kube-system UID %s and context %s", asked, kubeSystem.UID, contextName)
	}
	if binding.Name != e.service {
		t.Errorf("binding named %s, want the service's name %s", binding.Name, e.service)
	}
	e.checkServiceBindingCRD()
	e.checkBinding(binding, resp)
	e.checkKonnectorManifests()
	e.checkKonnectorRights(binding.Name)

	listed, err := e.kubectlBindery("bindings")
	if err != nil || !strings.Contains(listed, binding.Name) || !strings.Contains(listed, e.backend) {
		t.Errorf("bindings printed\n%s\n(err %v), want a row for %s of %s", listed, err, binding.Name, e.backend)
	}

	// Binding again changes nothing and gets the same name; the same service of another backend
	// gets a name of its own.
	if again, err := e.consumerBind(resp, out, nil).Run(e.ctx); err != nil || again.Name != binding.Name || again.UID != binding.UID {
		t.Errorf("binding again: %v, %v; want the same ServiceBinding", again, err)
	}
	other := *e
	other.backend = "https://" + e.service + "-other.example.com"
	second, err := other.consumerBind(resp, out, nil).Run(e.ctx)
	if want := e.service + "-" + templating.ShortHash(other.backend); err != nil || second.Name != want {
		t.Errorf("the same service of another backend: %v, %v; want binding %s", second, err, want)
	}

	unbound, err := e.kubectlBindery("unbind", binding.Name)
	if err == nil || !strings.Contains(err.Error(), "--objects=keep") {
		t.Errorf("unbind without --objects and without a terminal: %v\n%s; want --objects asked for", err, unbound)
	}
	if unbound, err = e.kubectlBindery("unbind", binding.Name, "--objects=keep"); err != nil {
		t.Fatalf("unbind: %v\n%s", err, unbound)
	}
	t.Logf("unbind printed:\n%s", unbound)
	e.checkGone(binding)
	if listed, err := e.kubectlBindery("bindings"); err != nil || strings.Contains(listed, "\n"+binding.Name+" ") || !strings.Contains(listed, "\n"+second.Name+" ") {
		t.Errorf("after unbind, bindings printed\n%s\n(err %v); want %s and not %s", listed, err, second.Name, binding.Name)
	}
	if out, err := e.kubectlBindery("unbind", second.Name, "--objects=keep"); err != nil {
		t.Errorf("unbind %s: %v\n%s", second.Name, err, out)
	}
}

// checkServiceBindingCRD checks that bind installed the CRD, marked with the CLI's version.
func (e *env) checkServiceBindingCRD() {
	e.t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := e.c.Get(e.ctx, client.ObjectKey{Name: "servicebindings.bind.bindery.dev"}, crd); err != nil {
		e.t.Fatalf("the ServiceBinding CRD: %v", err)
	}
	if crd.Annotations["bind.bindery.dev/installed-by-version"] == "" {
		e.t.Errorf("the ServiceBinding CRD does not say which kubectl-bindery installed it: %v", crd.Annotations)
	}
}

// checkBinding checks the ServiceBinding, its Secret and its ClusterRole.
func (e *env) checkBinding(binding *bindv1alpha1.ServiceBinding, resp *bindprotocol.BindResponse) {
	e.t.Helper()
	got := &bindv1alpha1.ServiceBinding{}
	if err := e.c.Get(e.ctx, client.ObjectKeyFromObject(binding), got); err != nil {
		e.t.Fatal(err)
	}
	want := bindv1alpha1.ServiceBindingSpec{
		Backend: e.backend, Service: e.service, Consumer: resp.Consumer, ProviderNamespace: resp.Namespace,
		CredentialSecret: bindv1alpha1.SecretReference{Namespace: e.namespace, Name: binding.Name + "-credential"},
	}
	if !reflect.DeepEqual(got.Spec, want) {
		e.t.Errorf("ServiceBinding spec\n%+v\nwant\n%+v", got.Spec, want)
	}

	secret := &corev1.Secret{}
	if err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.namespace, Name: binding.Name + "-credential"}, secret); err != nil {
		e.t.Fatalf("the credential Secret: %v", err)
	}
	if string(secret.Data[bindv1alpha1.CredentialKubeconfigKey]) != string(resp.Kubeconfig) {
		e.t.Errorf("the Secret holds %q, want the backend's kubeconfig", secret.Data)
	}
	if secret.Labels[konnectorrbac.BindingLabel] != binding.Name || len(secret.OwnerReferences) != 1 || secret.OwnerReferences[0].UID != got.UID {
		e.t.Errorf("the Secret's labels %v and owners %v do not name ServiceBinding %s", secret.Labels, secret.OwnerReferences, got.UID)
	}

	role := &rbacv1.ClusterRole{}
	if err := e.c.Get(e.ctx, client.ObjectKey{Name: konnectorrbac.BindingClusterRoleName(binding.Name)}, role); err != nil {
		e.t.Fatalf("the binding's ClusterRole: %v", err)
	}
	wantRules := konnectorrbac.BindingRules([]schema.GroupResource{{Group: e.group, Resource: "databases"}})
	if !reflect.DeepEqual(role.Rules, wantRules) || role.Labels[konnectorrbac.AggregationLabel] != "true" {
		e.t.Errorf("the binding's ClusterRole has rules %+v and labels %v, want %+v aggregated", role.Rules, role.Labels, wantRules)
	}
}

// checkKonnectorManifests checks what --konnector=install applied.
func (e *env) checkKonnectorManifests() {
	e.t.Helper()
	deployment := &appsv1.Deployment{}
	if err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.namespace, Name: "bindery-konnector"}, deployment); err != nil {
		e.t.Fatalf("the konnector's Deployment: %v", err)
	}
	pod := deployment.Spec.Template.Spec
	if pod.Containers[0].Image != konnectorImage || pod.ServiceAccountName != "bindery-konnector" {
		e.t.Errorf("the konnector runs %s as %s", pod.Containers[0].Image, pod.ServiceAccountName)
	}
	for _, obj := range []client.Object{
		&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{},
	} {
		name := "bindery-konnector"
		if _, ok := obj.(*corev1.ServiceAccount); !ok {
			name = "bindery-konnector-leader-election"
		}
		if err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.namespace, Name: name}, obj); err != nil {
			e.t.Errorf("%T %s/%s: %v", obj, e.namespace, name, err)
		}
	}
}

// checkKonnectorRights asks the API server what the konnector's ServiceAccount may do once its
// ClusterRole is aggregated: the received resource as bind granted it, and nothing beyond.
func (e *env) checkKonnectorRights(binding string) {
	e.t.Helper()
	e.aggregate("bindery-konnector")
	sa := "system:serviceaccount:" + e.namespace + ":bindery-konnector"
	for _, tc := range []struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{authorizationv1.ResourceAttributes{Verb: "list", Group: e.group, Resource: "databases"}, true},
		{authorizationv1.ResourceAttributes{Verb: "watch", Group: e.group, Resource: "databases", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "patch", Group: e.group, Resource: "databases", Subresource: "status", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Group: e.group, Resource: "databases", Subresource: "finalizers", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: e.group, Resource: "databases", Namespace: "team-a"}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Group: e.group, Resource: "databases", Namespace: "team-a"}, false},
		{authorizationv1.ResourceAttributes{Verb: "list", Group: "caches.other.test", Resource: "caches"}, false},
		{authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods"}, false},
		{authorizationv1.ResourceAttributes{Verb: "get", Resource: "configmaps", Namespace: "team-a"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, true},
		{authorizationv1.ResourceAttributes{Verb: "delete", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, false},
		{authorizationv1.ResourceAttributes{Verb: "update", Group: "bind.bindery.dev", Resource: "servicebindings", Subresource: "status"}, true},
		{authorizationv1.ResourceAttributes{Verb: "patch", Group: "bind.bindery.dev", Resource: "servicebindings"}, true},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "bind.bindery.dev", Resource: "servicebindings"}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Group: "bind.bindery.dev", Resource: "servicebindings"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: e.namespace}, true},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: "default"}, false},
		{authorizationv1.ResourceAttributes{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, false},
	} {
		if got := e.allowed(sa, tc.attrs); got != tc.want {
			e.t.Errorf("the konnector may %s %s.%s/%s in %q: %t, want %t (binding %s)",
				tc.attrs.Verb, tc.attrs.Resource, tc.attrs.Group, tc.attrs.Subresource, tc.attrs.Namespace, got, tc.want, binding)
		}
	}
}

// checkGone checks that unbind removed the binding, its Secret and its ClusterRole.
func (e *env) checkGone(binding *bindv1alpha1.ServiceBinding) {
	e.t.Helper()
	for _, obj := range []client.Object{
		&bindv1alpha1.ServiceBinding{}, &corev1.Secret{}, &rbacv1.ClusterRole{},
	} {
		key := client.ObjectKey{Name: binding.Name}
		switch obj.(type) {
		case *corev1.Secret:
			key = client.ObjectKey{Namespace: binding.Spec.CredentialSecret.Namespace, Name: binding.Spec.CredentialSecret.Name}
		case *rbacv1.ClusterRole:
			key = client.ObjectKey{Name: konnectorrbac.BindingClusterRoleName(binding.Name)}
		}
		if err := e.c.Get(e.ctx, key, obj); client.IgnoreNotFound(err) != nil || err == nil {
			e.t.Errorf("%T %s is still there after unbind (err %v)", obj, key, err)
		}
	}
}
