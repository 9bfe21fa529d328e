package crd

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/bindery-dev/bindery/examples/database-operator/config"
)

func TestParse(t *testing.T) {
	obj, err := Parse(config.CRD)
	if err != nil {
		t.Fatalf("Parse(config/crd.yaml): %v", err)
	}
	if obj.GetName() != "databases.db.provider.example" {
		t.Errorf("name = %q", obj.GetName())
	}

	for _, tc := range []struct{ name, manifest, wantErr string }{
		{name: "not YAML", manifest: "{", wantErr: "decoding"},
		{name: "another kind", manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}", wantErr: "want a CustomResourceDefinition"},
		{name: "old version", manifest: "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata: {name: x}", wantErr: "want a CustomResourceDefinition"},
		{name: "no name", manifest: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition", wantErr: "no metadata.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.manifest))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestEstablished(t *testing.T) {
	cond := func(typ apiextensionsv1.CustomResourceDefinitionConditionType, status apiextensionsv1.ConditionStatus) apiextensionsv1.CustomResourceDefinitionCondition {
		return apiextensionsv1.CustomResourceDefinitionCondition{Type: typ, Status: status, Message: "m"}
	}
	for _, tc := range []struct {
		name       string
		conditions []apiextensionsv1.CustomResourceDefinitionCondition
		want       bool
		wantErr    bool
	}{
		{name: "new"},
		{name: "names accepted, not established yet", conditions: []apiextensionsv1.CustomResourceDefinitionCondition{
			cond(apiextensionsv1.NamesAccepted, apiextensionsv1.ConditionTrue), cond(apiextensionsv1.Established, apiextensionsv1.ConditionFalse)}},
		{name: "established", want: true, conditions: []apiextensionsv1.CustomResourceDefinitionCondition{
			cond(apiextensionsv1.NamesAccepted, apiextensionsv1.ConditionTrue), cond(apiextensionsv1.Established, apiextensionsv1.ConditionTrue)}},
		{name: "names clash", wantErr: true, conditions: []apiextensionsv1.CustomResourceDefinitionCondition{
			cond(apiextensionsv1.NamesAccepted, apiextensionsv1.ConditionFalse)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{Status: apiextensionsv1.CustomResourceDefinitionStatus{Conditions: tc.conditions}}
			got, _, err := Established(crd)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Established() = %v, %v; want %v, error: %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
