package consumers

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/services"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestResolveProjectsTheCRD resolves a Service of Databases published as PostgresDatabases of
// another group: the consumer-facing CRD has the projected names and the provider's schema,
// printer columns and status subresource, and a kube-apiserver accepts and serves it.
func TestResolveProjectsTheCRD(t *testing.T) {
	e := newEnv(t)
	pr := e.publish(databases, &syncagentv1alpha1.Projection{Kind: "PostgresDatabase"}, credentials())
	svc := e.service()
	group := pr.Spec.Projection.Group

	resolved, err := services.Resolve(e.ctx, e.admin, nil, svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(resolved.Resources) != 1 {
		t.Fatalf("resources = %+v, want the one PublishedResource", resolved.Resources)
	}
	res := resolved.Resources[0]
	wantBound := bindprotocol.BoundResource{
		PublishedResource: pr.Name,
		Consumer:          bindprotocol.Resource{Group: group, Resource: "postgresdatabases", Kind: "PostgresDatabase", Versions: []string{"v1"}},
		Provider:          bindprotocol.Resource{Group: "databases.example.com", Resource: "databases", Kind: "Database", Versions: []string{"v1"}},
	}
	if !equalBound(res.Bound, wantBound) {
		t.Errorf("bound = %+v\nwant    %+v", res.Bound, wantBound)
	}
	if len(res.Related) != 1 || res.Related[0].Provider.Resource != "secrets" || res.Related[0].Origin != syncagentv1alpha1.OriginProvider {
		t.Errorf("related = %+v, want the credentials Secret of origin provider", res.Related)
	}

	crd := res.CRD
	if crd.Name != "postgresdatabases."+group || crd.Spec.Names.Kind != "PostgresDatabase" || crd.Annotations[services.PublishedResourceAnnotation] != pr.Name {
		t.Fatalf("CRD %s %+v, want PostgresDatabases of %s from %s", crd.Name, crd.Spec.Names, group, pr.Name)
	}
	v := crd.Spec.Versions[0]
	size := v.Schema.OpenAPIV3Schema.Properties["spec"].Properties["size"]
	if len(size.Enum) != 2 || v.Subresources == nil || v.Subresources.Status == nil || len(v.AdditionalPrinterColumns) != 2 || !v.Storage {
		t.Fatalf("version %+v lost the provider's schema, status subresource, printer columns or storage", v)
	}

	// The consumer cluster installs it as it is; here the provider cluster plays that part.
	e.installCRD(crd.DeepCopy())
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/v1", "kind": "PostgresDatabase",
		"metadata": map[string]any{"name": "orders", "namespace": "default"},
		"spec":     map[string]any{"size": "small"},
	}}
	framework.CreateWhenServed(t, e.admin, obj)
	if err := unstructured.SetNestedField(obj.Object, "Ready", "status", "phase"); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.Status().Update(e.ctx, obj); err != nil {
		t.Fatalf("writing status through the status subresource: %v", err)
	}
	invalid := obj.DeepCopy()
	invalid.SetName("invalid")
	invalid.SetResourceVersion("")
	_ = unstructured.SetNestedField(invalid.Object, "huge", "spec", "size")
	if err := e.admin.Create(e.ctx, invalid); err == nil || !strings.Contains(err.Error(), "spec.size") {
		t.Errorf("creating a PostgresDatabase with an unsupported size: %v, want the schema's enum to refuse it", err)
	}
}

func equalBound(a, b bindprotocol.BoundResource) bool {
	same := func(x, y bindprotocol.Resource) bool {
		return x.Group == y.Group && x.Resource == y.Resource && x.Kind == y.Kind && strings.Join(x.Versions, ",") == strings.Join(y.Versions, ",")
	}
	return a.PublishedResource == b.PublishedResource && same(a.Consumer, b.Consumer) && same(a.Provider, b.Provider)
}

// TestResolveProblemsNameTheField: what keeps a Service from being bound comes back as an Error
// with the reason, the object and the field at fault.
func TestResolveProblemsNameTheField(t *testing.T) {
	e := newEnv(t)
	missingCRD := e.publish(syncagentv1alpha1.SourceResource{APIGroup: "databases.example.com", Kind: "Missing"}, nil)
	for _, tc := range []struct {
		name              string
		selector          metav1.LabelSelector
		reason, field, pr string
		says              string
	}{
		{
			name:     "a missing CRD",
			selector: metav1.LabelSelector{MatchLabels: map[string]string{serviceLabel: e.label}},
			reason:   bindv1alpha1.ServiceReasonSourceCRDNotFound, field: "spec.resource.kind", pr: missingCRD.Name,
			says: "CRD of kind Missing in group databases.example.com not found in the provider cluster; create it or fix the PublishedResource",
		},
		{
			name:     "no selected PublishedResource",
			selector: metav1.LabelSelector{MatchLabels: map[string]string{serviceLabel: "nothing-" + e.label}},
			reason:   bindv1alpha1.ServiceReasonNoResources, field: "spec.publishedResources",
			says: "no PublishedResource has labels matching",
		},
		{
			name: "an invalid selector",
			selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: serviceLabel, Operator: metav1.LabelSelectorOpIn},
			}},
			reason: bindv1alpha1.ServiceReasonInvalidSelector, field: "spec.publishedResources",
			says: "not a valid label selector",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := e.serviceSelecting(tc.selector)
			resolved, err := services.Resolve(e.ctx, e.admin, nil, svc)
			problem, ok := services.AsError(err)
			if !ok || resolved != nil {
				t.Fatalf("Resolve = %v, %v; want an *Error", resolved, err)
			}
			if problem.Reason != tc.reason || problem.Field != tc.field || problem.PublishedResource != tc.pr || problem.Service != svc.Name {
				t.Errorf("problem = %+v, want reason %s, field %s, PublishedResource %q", problem, tc.reason, tc.field, tc.pr)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.field+": "+tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.field+": "+tc.says)
			}
		})
	}
}

// TestServiceStatusFollowsTheCRD: a Service whose PublishedResource names a CRD that does not
// exist yet reports CRDNotFound, and turns Ready with its resources once the CRD is created;
// each change of Ready is an event.
func TestServiceStatusFollowsTheCRD(t *testing.T) {
	startControllers(t)
	e := newEnv(t)
	group := framework.UniqueName("widgets") + ".example.com"
	pr := e.publish(syncagentv1alpha1.SourceResource{APIGroup: group, Kind: "Widget"}, &syncagentv1alpha1.Projection{Group: "consumer." + group})
	svc := e.service()
	conditions := func() []metav1.Condition { return svc.Status.Conditions }

	notReady := e.waitForReady(svc, conditions, metav1.ConditionFalse, bindv1alpha1.ServiceReasonSourceCRDNotFound)
	if !strings.Contains(notReady.Message, "PublishedResource "+pr.Name+": spec.resource.kind") || len(svc.Status.Resources) != 0 {
		t.Errorf("Ready = %+v with resources %+v, want the PublishedResource and field named and no resources", notReady, svc.Status.Resources)
	}

	e.installCRD(widgetCRD(group))
	e.waitForReady(svc, conditions, metav1.ConditionTrue, bindv1alpha1.ServiceReasonReady)
	want := bindv1alpha1.ServiceResource{PublishedResource: pr.Name, Group: "consumer." + group, Resource: "widgets", Kind: "Widget", Versions: []string{"v1"}}
	if len(svc.Status.Resources) != 1 || !equalServiceResource(svc.Status.Resources[0], want) {
		t.Errorf("status.resources = %+v, want %+v", svc.Status.Resources, want)
	}
	if svc.Status.ObservedGeneration != svc.Generation {
		t.Errorf("observedGeneration = %d, want %d", svc.Status.ObservedGeneration, svc.Generation)
	}
	e.waitForEvents(svc.Name, bindv1alpha1.ServiceReasonSourceCRDNotFound, bindv1alpha1.ServiceReasonReady)
}

func equalServiceResource(a, b bindv1alpha1.ServiceResource) bool {
	return a.PublishedResource == b.PublishedResource && a.Group == b.Group && a.Resource == b.Resource &&
		a.Kind == b.Kind && strings.Join(a.Versions, ",") == strings.Join(b.Versions, ",")
}

// widgetCRD is a namespaced CRD of kind Widget in group.
func widgetCRD(group string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
}

// waitForEvents waits until events with each of the reasons were recorded on the cluster-scoped
// object of that name (their namespace is default).
func (e *env) waitForEvents(name string, reasons ...string) {
	e.t.Helper()
	framework.WaitFor(e.t, 30*time.Second, "events "+strings.Join(reasons, ", ")+" on "+name, func(ctx context.Context) (bool, string, error) {
		events := &corev1.EventList{}
		if err := e.admin.List(ctx, events, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return false, "", err
		}
		seen := map[string]bool{}
		for _, ev := range events.Items {
			if ev.InvolvedObject.Name == name {
				seen[ev.Reason] = true
			}
		}
		for _, r := range reasons {
			if !seen[r] {
				return false, "", nil
			}
		}
		return true, "", nil
	})
}
