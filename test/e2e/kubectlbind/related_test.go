package kubectlbind

import (
	"reflect"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
	"github.com/bindery-dev/bindery/pkg/kubectlbindery"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestBindGrantsTheRelatedKinds: the kinds of related objects a Service's resources carry (a
// ConfigMap the consumer hands down, Certificates of the provider's coming back) are granted to
// the konnector with the binding, and nothing else of the core group; a backend asking for a
// related kind that would give the konnector rights on workloads is refused before anything is
// written.
func TestBindGrantsTheRelatedKinds(t *testing.T) {
	e := newEnv(t)
	certs := "certs." + e.group
	resp := e.response()
	resp.Resources[0].Related = []bindprotocol.RelatedKind{
		{Resource: "secrets", Origin: "provider"},
		{Resource: "configmaps", Origin: "consumer"},
		{Group: certs, Resource: "certificates", Origin: "provider"},
	}
	out := &framework.SyncBuffer{}
	bind := e.consumerBind(resp, out, nil)
	bind.Konnector, bind.KonnectorImage = kubectlbindery.KonnectorInstall, konnectorImage
	binding, err := bind.Run(e.ctx)
	if err != nil {
		t.Fatalf("bind: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := e.kubectlBindery("unbind", binding.Name, "--objects=keep"); err != nil {
			t.Errorf("unbind: %v\n%s", err, out)
		}
	})

	role := &rbacv1.ClusterRole{}
	if err := e.c.Get(e.ctx, client.ObjectKey{Name: konnectorrbac.BindingClusterRoleName(binding.Name)}, role); err != nil {
		t.Fatal(err)
	}
	want := append(konnectorrbac.BindingRules([]schema.GroupResource{{Group: e.group, Resource: "databases"}}),
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		rbacv1.PolicyRule{APIGroups: []string{certs}, Resources: []string{"certificates"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	)
	if !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("the binding's ClusterRole has rules\n%+v\nwant\n%+v", role.Rules, want)
	}

	e.aggregate("bindery-konnector")
	sa := "system:serviceaccount:" + e.namespace + ":bindery-konnector"
	for _, tc := range []struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{authorizationv1.ResourceAttributes{Verb: "create", Resource: "configmaps", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "watch", Resource: "configmaps"}, true},
		{authorizationv1.ResourceAttributes{Verb: "delete", Group: certs, Resource: "certificates", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods", Namespace: "team-a"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Resource: "serviceaccounts", Namespace: "team-a"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: e.group, Resource: "databases", Namespace: "team-a"}, false},
	} {
		if got := e.allowed(sa, tc.attrs); got != tc.want {
			t.Errorf("the konnector may %s %s.%s in %q: %t, want %t", tc.attrs.Verb, tc.attrs.Resource, tc.attrs.Group, tc.attrs.Namespace, got, tc.want)
		}
	}

	other := *e
	other.service = framework.UniqueName("workloads")
	bad := other.response()
	bad.Resources[0].Related = []bindprotocol.RelatedKind{{Resource: "pods", Origin: "provider"}}
	if _, err := other.consumerBind(bad, out, nil).Run(e.ctx); err == nil || !strings.Contains(err.Error(), `related resource "pods" of the core group`) {
		t.Errorf("bind of a Service relating pods: %v; want a refusal naming the kind", err)
	}
	if err := e.c.Get(e.ctx, client.ObjectKey{Name: konnectorrbac.BindingClusterRoleName(other.service)}, &rbacv1.ClusterRole{}); client.IgnoreNotFound(err) != nil || err == nil {
		t.Errorf("the refused bind left its ClusterRole behind (err %v)", err)
	}
}
