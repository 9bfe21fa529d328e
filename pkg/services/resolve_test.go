package services

import (
	"reflect"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/publishing"
)

func TestBoundMapsVersionsBackToTheProvider(t *testing.T) {
	pr := &syncagentv1alpha1.PublishedResource{ObjectMeta: metav1.ObjectMeta{Name: "databases"}, Spec: projectedSpec()}
	published, ferr := publishing.BuildSchema(databaseCRD(), pr.Spec)
	if ferr != nil {
		t.Fatal(ferr)
	}
	got := bound(pr, databaseCRD(), published)
	want := bindprotocol.BoundResource{
		PublishedResource: "databases",
		Consumer:          bindprotocol.Resource{Group: "dbs.example.com", Resource: "postgresdatabases", Kind: "PostgresDatabase", Versions: []string{"v1beta1", "v1"}},
		Provider:          bindprotocol.Resource{Group: "internal.example.com", Resource: "databases", Kind: "Database", Versions: []string{"v1beta1", "v1beta2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bound = %+v\nwant    %+v", got, want)
	}
}

func TestBoundListsTheRelatedKindsAsTheConsumerServesThem(t *testing.T) {
	pr := &syncagentv1alpha1.PublishedResource{ObjectMeta: metav1.ObjectMeta{Name: "databases"}, Spec: projectedSpec()}
	pr.Spec.Related = []syncagentv1alpha1.RelatedResource{
		{Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets"},
		{Identifier: "certificate", Origin: syncagentv1alpha1.OriginProvider, Group: "internal.example.com", Version: "v1", Resource: "certs",
			Projection: &syncagentv1alpha1.RelatedProjection{Group: "certs.example.com", Resource: "certificates"}},
		{Identifier: "settings", Origin: syncagentv1alpha1.OriginConsumer, Version: "v1", Resource: "configmaps"},
	}
	published, ferr := publishing.BuildSchema(databaseCRD(), pr.Spec)
	if ferr != nil {
		t.Fatal(ferr)
	}
	got := bound(pr, databaseCRD(), published).Related
	want := []bindprotocol.RelatedKind{
		{Resource: "secrets", Origin: "provider"},
		{Group: "certs.example.com", Resource: "certificates", Origin: "provider"},
		{Resource: "configmaps", Origin: "consumer"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("related = %+v\nwant      %+v", got, want)
	}
}

func TestValidateRelated(t *testing.T) {
	secret := func(origin syncagentv1alpha1.RelatedOrigin) syncagentv1alpha1.RelatedResource {
		return syncagentv1alpha1.RelatedResource{
			Identifier: "credentials", Origin: origin, Version: "v1", Resource: "secrets",
			Object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "{{ .Object.metadata.name }}-creds"}},
		}
	}
	otherNamespace := func(origin syncagentv1alpha1.RelatedOrigin) syncagentv1alpha1.RelatedResource {
		rel := secret(origin)
		rel.Object.Template.Namespace = "operator-system"
		return rel
	}
	withGroup := func(group, resource string) syncagentv1alpha1.RelatedResource {
		rel := secret(syncagentv1alpha1.OriginProvider)
		rel.Group, rel.Resource = group, resource
		return rel
	}
	for _, tc := range []struct {
		name    string
		related syncagentv1alpha1.RelatedResource
		field   string // empty: valid
	}{
		{"a Secret of the provider", secret(syncagentv1alpha1.OriginProvider), ""},
		{"a Secret of the consumer", secret(syncagentv1alpha1.OriginConsumer), ""},
		{"a custom resource without identity hash", withGroup("certs.example.com", "certificates"), ""},
		{"a group that is no DNS subdomain", withGroup("Certs_Example", "certificates"), "spec.related[0].group"},
		{"a resource that is no plural", withGroup("", "Secrets/x"), "spec.related[0].resource"},
		{"an original in another namespace of the provider", otherNamespace(syncagentv1alpha1.OriginProvider), "spec.related[0].object.template.namespace"},
		{"an original in another namespace of the consumer", otherNamespace(syncagentv1alpha1.OriginConsumer), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := projectedSpec()
			spec.Related = []syncagentv1alpha1.RelatedResource{tc.related}
			errs := validateRelated(spec)
			if tc.field == "" {
				if len(errs) > 0 {
					t.Fatalf("want no error, got %v", errs)
				}
				return
			}
			if len(errs) == 0 || errs[0].Field != tc.field {
				t.Fatalf("want an error on %s, got %v", tc.field, errs)
			}
		})
	}
}

func TestCheckClashesNamesTheSecondPublishedResource(t *testing.T) {
	svc := &bindv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dbs"}}
	res := func(pr string) Resource {
		return Resource{PublishedResource: pr, CRD: &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "databases.dbs.example.com"}}}
	}
	if err := checkClashes(svc, []Resource{res("a")}); err != nil {
		t.Fatalf("one resource: %v", err)
	}
	err := checkClashes(svc, []Resource{res("a"), res("b")})
	problem, ok := AsError(err)
	if !ok || problem.PublishedResource != "b" || problem.Field != "spec.projection" || !strings.Contains(problem.Detail, "PublishedResource a") {
		t.Fatalf("want an Error on spec.projection of b naming a, got %v", err)
	}
}

func TestErrorSaysWhatAndWhere(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Service: "dbs", PublishedResource: "widgets", Field: "spec.resource.kind", Detail: "not found"}, "PublishedResource widgets: spec.resource.kind: not found"},
		{&Error{Service: "dbs", Field: "spec.publishedResources", Detail: "selects nothing"}, "Service dbs: spec.publishedResources: selects nothing"},
		{&Error{Service: "dbs", Detail: "broken"}, "Service dbs: broken"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestReadyCondition(t *testing.T) {
	resolved := &Resolved{Resources: []Resource{{Bound: bindprotocol.BoundResource{Consumer: bindprotocol.Resource{Group: "dbs.example.com", Kind: "PostgresDatabase"}}}}}
	ready := ReadyCondition(3, resolved, nil)
	if ready.Status != metav1.ConditionTrue || ready.Reason != bindv1alpha1.ServiceReasonReady || ready.ObservedGeneration != 3 ||
		!strings.Contains(ready.Message, "PostgresDatabase.dbs.example.com") {
		t.Errorf("resolved: %+v", ready)
	}
	problem := &Error{Reason: bindv1alpha1.ServiceReasonSourceCRDNotFound, Service: "dbs", PublishedResource: "widgets", Detail: "gone"}
	notReady := ReadyCondition(3, nil, problem)
	if notReady.Status != metav1.ConditionFalse || notReady.Reason != problem.Reason || notReady.Message != problem.Error() {
		t.Errorf("problem: %+v", notReady)
	}
}
