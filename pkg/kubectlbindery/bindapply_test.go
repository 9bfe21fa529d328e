package kubectlbindery

import (
	"reflect"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

func crdWith(installedBy string, versions ...string) *apiextensionsv1.CustomResourceDefinition {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if installedBy != "" {
		crd.Annotations = map[string]string{crdVersionAnnotation: installedBy}
	}
	for _, v := range versions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v})
	}
	return crd
}

func TestCRDNeedsUpdate(t *testing.T) {
	ours := crdWith("", "v1alpha1", "v1beta1")
	for _, tc := range []struct {
		name     string
		existing *apiextensionsv1.CustomResourceDefinition
		cli      string
		want     bool
	}{
		{"missing", nil, "v0.3.0", true},
		{"installed by an older release", crdWith("v0.2.0", "v1alpha1", "v1beta1"), "v0.3.0", true},
		{"installed by this release", crdWith("v0.3.0", "v1alpha1", "v1beta1"), "v0.3.0", false},
		{"installed by a newer release", crdWith("v0.4.0", "v1beta1"), "v0.3.0", false},
		{"by hand, with every version", crdWith("", "v1alpha1", "v1beta1"), "v0.3.0", false},
		{"by hand, lacking a version", crdWith("", "v1alpha1"), "v0.3.0", true},
		{"a development CLI leaves a complete CRD", crdWith("v0.4.0", "v1alpha1", "v1beta1"), "(devel)", false},
		{"a development CLI adds a version", crdWith("(devel)", "v1alpha1"), "(devel)", true},
	} {
		if got := crdNeedsUpdate(tc.existing, ours, tc.cli); got != tc.want {
			t.Errorf("%s: crdNeedsUpdate = %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestTheEmbeddedCRDIsTheServiceBindingCRD(t *testing.T) {
	crd, err := embeddedServiceBindingCRD()
	if err != nil {
		t.Fatal(err)
	}
	if crd.Name != "servicebindings.bind.bindery.dev" || crd.Spec.Scope != apiextensionsv1.ClusterScoped || len(crd.Spec.Versions) == 0 {
		t.Errorf("embedded CRD %s (scope %s, %d versions)", crd.Name, crd.Spec.Scope, len(crd.Spec.Versions))
	}
}

// response is a backend's answer binding databases of db.example.com.
func response() *bindprotocol.BindResponse {
	return &bindprotocol.BindResponse{
		Consumer: "jane-1a2b", Namespace: "bindery-jane-1a2b", ServiceAccount: "konnector",
		Kubeconfig: []byte("apiVersion: v1\nkind: Config\n"), ExpiresAt: time.Now().Add(time.Hour),
		Resources: []bindprotocol.BoundResource{{
			PublishedResource: "databases",
			Consumer:          bindprotocol.Resource{Group: "db.example.com", Resource: "databases", Kind: "Database"},
			Provider:          bindprotocol.Resource{Group: "internal.example.com", Resource: "postgresinstances", Kind: "PostgresInstance"},
		}},
	}
}

func TestReceivedResourcesFollowTheGroup(t *testing.T) {
	if got := receivedResources(response(), ""); !reflect.DeepEqual(got, []schema.GroupResource{{Group: "db.example.com", Resource: "databases"}}) {
		t.Errorf("without --group: %v", got)
	}
	if got := receivedResources(response(), "db.team-a.example"); !reflect.DeepEqual(got, []schema.GroupResource{{Group: "db.team-a.example", Resource: "databases"}}) {
		t.Errorf("with --group: %v", got)
	}
}

func TestValidResponse(t *testing.T) {
	if err := validResponse(response(), ""); err != nil {
		t.Fatalf("a good answer refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*bindprotocol.BindResponse)
		want   string
	}{
		{"no consumer", func(r *bindprotocol.BindResponse) { r.Consumer = "" }, "names no consumer"},
		{"no credential", func(r *bindprotocol.BindResponse) { r.Kubeconfig = nil }, "holds no credential"},
		{"no resources", func(r *bindprotocol.BindResponse) { r.Resources = nil }, "binds no resources"},
		{"a wildcard", func(r *bindprotocol.BindResponse) { r.Resources[0].Consumer.Resource = "*" }, "not a plain resource name"},
		{"a built-in group", func(r *bindprotocol.BindResponse) { r.Resources[0].Consumer.Group = "" }, "not a DNS subdomain with a dot"},
	} {
		resp := response()
		tc.change(resp)
		if err := validResponse(resp, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestTheBindingsObjects(t *testing.T) {
	o := &ConsumerBind{Backend: "https://a.example.com", Service: "databases", Group: "db.team-a.example", KonnectorNamespace: "bindery-system"}
	b := serviceBinding("databases", response(), o)
	if b.Spec.Consumer != "jane-1a2b" || b.Spec.ProviderNamespace != "bindery-jane-1a2b" || b.Spec.Group != "db.team-a.example" ||
		b.Spec.CredentialSecret.Namespace != "bindery-system" || b.Spec.CredentialSecret.Name != "databases-credential" {
		t.Errorf("ServiceBinding spec %+v", b.Spec)
	}
	owner := metav1.OwnerReference{Name: "databases", UID: "u"}
	s := credentialSecret("databases", "bindery-system", []byte("kc"), owner)
	if string(s.Data["kubeconfig"]) != "kc" || s.Labels[bindingLabel] != "databases" || len(s.OwnerReferences) != 1 {
		t.Errorf("Secret %+v", s)
	}
}

func TestDefaultKonnectorImage(t *testing.T) {
	if got, err := DefaultKonnectorImage("v0.3.0"); err != nil || got != "ghcr.io/bindery-dev/bindery-konnector:v0.3.0" {
		t.Errorf("release: %q, %v", got, err)
	}
	for _, devel := range []string{"(devel)", "v0.3.1-0.20250101-abc+dirty", ""} {
		if _, err := DefaultKonnectorImage(devel); err == nil || !strings.Contains(err.Error(), "pass --konnector-image IMAGE, or --konnector=skip") {
			t.Errorf("%q: %v, want the development build's advice", devel, err)
		}
	}
}
