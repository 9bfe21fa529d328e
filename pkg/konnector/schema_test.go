package konnector

import (
	"encoding/json"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// publishedCRD is a consumer-facing CRD as a BoundAPI carries it, with metadata the provider's
// server set that must not travel.
func publishedCRD(t *testing.T, group string) *bindv1alpha1.BoundAPI {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{
			Name: "databases." + group, UID: "provider-uid", ResourceVersion: "42",
			Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"bind.bindery.dev/schema": "v1.databases"},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: "databases", Singular: "database", Kind: "Database", ListKind: "DatabaseList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true}},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{StoredVersions: []string{"v1"}},
	}
	raw, err := json.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	return &bindv1alpha1.BoundAPI{ObjectMeta: metav1.ObjectMeta{Name: "databases"}, Spec: bindv1alpha1.BoundAPISpec{CRD: runtime.RawExtension{Raw: raw}}}
}

func TestReceivedCRD(t *testing.T) {
	api := publishedCRD(t, "db.provider.example")
	crd, err := receivedCRD(api, "", "databases")
	if err != nil {
		t.Fatal(err)
	}
	if crd.Name != "databases.db.provider.example" || crd.UID != "" || crd.ResourceVersion != "" || len(crd.Status.StoredVersions) != 0 {
		t.Errorf("kept the provider's server metadata or status: %+v", crd.ObjectMeta)
	}
	if crd.Labels[BindingLabel] != "databases" || crd.Labels["app"] != "db" || crd.Annotations["bind.bindery.dev/schema"] != "v1.databases" {
		t.Errorf("labels %v, annotations %v: want the binding's label next to the provider's", crd.Labels, crd.Annotations)
	}

	renamed, err := receivedCRD(api, "databases.mycompany.example", "databases")
	if err != nil {
		t.Fatal(err)
	}
	if renamed.Name != "databases.databases.mycompany.example" || renamed.Spec.Group != "databases.mycompany.example" {
		t.Errorf("renamed into %s (group %s), want databases.databases.mycompany.example", renamed.Name, renamed.Spec.Group)
	}

	for _, tc := range []struct {
		api   *bindv1alpha1.BoundAPI
		group string
		want  string
	}{
		{publishedCRD(t, "apps.k8s.io"), "", "Kubernetes itself"},
		{api, "k8s.io", "Kubernetes itself"},
		{&bindv1alpha1.BoundAPI{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Spec: bindv1alpha1.BoundAPISpec{CRD: runtime.RawExtension{Raw: []byte(`[]`)}}}, "", "BoundAPI broken: decoding spec.crd"},
	} {
		if _, err := receivedCRD(tc.api, tc.group, "databases"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("group %q: %v, want an error saying %q", tc.group, err, tc.want)
		}
	}
}

func TestOwnedBy(t *testing.T) {
	crd := func(labels map[string]string) *apiextensionsv1.CustomResourceDefinition {
		return &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Labels: labels}}
	}
	if !ownedBy(crd(map[string]string{BindingLabel: "databases"}), "databases") {
		t.Error("the binding's own CRD is not its")
	}
	if ownedBy(crd(nil), "databases") || ownedBy(crd(map[string]string{BindingLabel: "other"}), "databases") {
		t.Error("a CRD without the label, or another binding's, counts as the binding's: it would be taken over")
	}
	long := strings.Repeat("very-long-binding-name-", 5)
	if !ownedBy(crd(map[string]string{BindingLabel: bindingLabelValue(long)}), long) || len(bindingLabelValue(long)) > 63 {
		t.Errorf("a long binding name: label %q", bindingLabelValue(long))
	}
}

func TestEstablished(t *testing.T) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if ok, why := established(crd); ok || why == "" {
		t.Errorf("no conditions: established %v (%q)", ok, why)
	}
	crd.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{
		{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionFalse, Message: `"Database" is already in use`},
	}
	if ok, why := established(crd); ok || !strings.Contains(why, "already in use") {
		t.Errorf("names refused: established %v (%q), want the API server's words", ok, why)
	}
	crd.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
	if ok, _ := established(crd); !ok {
		t.Error("Established=True is not established")
	}
}
