package kubectlbindery

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var dbs = []receivedCRD{{gr: schema.GroupResource{Group: "db.example.com", Resource: "databases"}}}

func TestChooseObjects(t *testing.T) {
	if got, err := chooseObjects("delete", false, nil, nil, "databases", dbs); err != nil || got != "delete" {
		t.Errorf("--objects=delete: %q, %v", got, err)
	}
	_, err := chooseObjects("", false, strings.NewReader("keep\n"), nil, "databases", dbs)
	if err == nil || !strings.Contains(err.Error(), "your objects of databases.db.example.com: --objects=keep") {
		t.Errorf("without a terminal: %v, want the flag required", err)
	}
	var out bytes.Buffer
	if got, err := chooseObjects("", true, strings.NewReader(" Delete \n"), &out, "databases", dbs); err != nil || got != "delete" {
		t.Errorf("answered delete: %q, %v", got, err)
	}
	if !strings.Contains(out.String(), "ServiceBinding databases received databases.db.example.com") || !strings.Contains(out.String(), "keep or delete? ") {
		t.Errorf("the question reads\n%s", out.String())
	}
	if _, err := chooseObjects("", true, strings.NewReader("maybe\n"), &out, "databases", dbs); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("answered maybe: %v", err)
	}
}

func TestGrantedResourcesSkipSubresources(t *testing.T) {
	got := grantedResources([]rbacv1.PolicyRule{{APIGroups: []string{"db.example.com"}, Resources: []string{"databases", "databases/status", "backups"}}})
	want := []schema.GroupResource{{Group: "db.example.com", Resource: "databases"}, {Group: "db.example.com", Resource: "backups"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestServedVersionPrefersStorage(t *testing.T) {
	crd := &apiextensionsv1.CustomResourceDefinition{Spec: apiextensionsv1.CustomResourceDefinitionSpec{Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
		{Name: "v1alpha1", Served: true}, {Name: "v1beta1", Served: true, Storage: true}, {Name: "v1", Served: false},
	}}}
	if got := servedVersion(crd); got != "v1beta1" {
		t.Errorf("got %s, want the storage version v1beta1", got)
	}
	crd.Spec.Versions[1].Served = false
	if got := servedVersion(crd); got != "v1alpha1" {
		t.Errorf("got %s, want the served v1alpha1 when storage is not served", got)
	}
}

func TestBindAndUnbindRefuseBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bind"}, "bind takes the backend's URL and nothing else"},
		{[]string{"bind", "https://b.example.com", "--group", "databases"}, "--group: group \"databases\" is not a DNS subdomain with a dot"},
		{[]string{"bind", "https://b.example.com", "--konnector", "maybe"}, "--konnector=maybe: choose install"},
		{[]string{"bind", "https://b.example.com", "--wait", "-1s", "--konnector", "skip"}, "--wait -1s: give a duration"},
		{[]string{"bind", "https://b.example.com", "--service", "dbs"}, "development build"},
		{[]string{"unbind"}, "unbind takes the name of one ServiceBinding"},
		{[]string{"unbind", "databases", "--objects", "some"}, "--objects=some: choose keep"},
		{[]string{"bindings", "-o", "wide"}, `-o "wide": choose table, yaml, json`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one that says %q", err, tc.want)
			}
		})
	}
}
