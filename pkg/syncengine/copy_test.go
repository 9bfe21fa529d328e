package syncengine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/templating"
)

var targetGVK = schema.GroupVersionKind{Group: "databases.internal.example.com", Version: "v1beta3", Kind: "PostgresCluster"}

// consumerObject is a source object as the API server returns it, server-set metadata included.
func consumerObject() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "databases.example.com/v1",
		"kind":       "Database",
		"metadata": map[string]any{
			"name":              "my-db",
			"namespace":         "default",
			"uid":               "0b7c1c4e-2c5e-4d8a-9c4a-1f0e0e0e0e0e",
			"resourceVersion":   "42",
			"generation":        int64(3),
			"creationTimestamp": "2025-01-01T00:00:00Z",
			"generateName":      "my-",
			"finalizers":        []any{"sync.bindery.dev/cleanup"},
			"ownerReferences":   []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u"}},
			"managedFields":     []any{map[string]any{"manager": "kubectl", "operation": "Apply"}},
			"labels": map[string]any{
				"app":                         "shop",
				"team.example.com/owner":      "alice",
				"kubernetes.io/metadata.name": "x",
				"app.kubernetes.io/name":      "db",
				"k8s.io/x":                    "y",
				"kcp.io/x":                    "y",
				"bindery.dev/x":               "y",
				"sync.bindery.dev/agent":      "consumer-side-agent",
				"notbindery.dev/keep":         "yes",
			},
			"annotations": map[string]any{
				"note": "keep me",
				"kubectl.kubernetes.io/last-applied-configuration": "{}",
				"kcp.io/cluster":                    "2x8cxnqmfw5lmjcs",
				"tenancy.kcp.io/workspace":          "w",
				"sync.bindery.dev/source-name":      "forged",
				"example.com/keep":                  "yes",
				"deployment.kubernetes.io/revision": "7",
			},
		},
		"spec": map[string]any{
			"version":  "16",
			"replicas": int64(3),
			"storage":  map[string]any{"size": "10Gi", "class": "fast"},
		},
		"data":   map[string]any{"k": "v"}, // other top-level fields travel too (Secrets, ConfigMaps)
		"status": map[string]any{"phase": "Ready"},
	}}
}

func copySpec() CopySpec {
	return CopySpec{
		GVK:       targetGVK,
		Namespace: "2x8cxnqmfw5lmjcs",
		Name:      "default-my-db",
		Owner:     testOwner,
		Data:      templating.Data{ClusterName: "2x8cxnqmfw5lmjcs", ClusterPath: "root:org:team"},
	}
}

func compileSteps(t *testing.T, steps ...syncagentv1alpha1.MutationStep) *mutation.Program {
	t.Helper()
	p, err := mutation.Compile(steps)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func TestDesiredCopy(t *testing.T) {
	source := consumerObject()
	before := source.DeepCopy()

	got, err := DesiredCopy(source, copySpec())
	if err != nil {
		t.Fatalf("DesiredCopy: %v", err)
	}
	want := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "databases.internal.example.com/v1beta3",
		"kind":       "PostgresCluster",
		"metadata": map[string]any{
			"name":      "default-my-db",
			"namespace": "2x8cxnqmfw5lmjcs",
			"labels": map[string]any{
				"app":                    "shop",
				"team.example.com/owner": "alice",
				"notbindery.dev/keep":    "yes",
				AgentLabel:               "db-agent",
				SourceLabel:              testSource.Hash(),
			},
			"annotations": map[string]any{
				"note":                    "keep me",
				"example.com/keep":        "yes",
				SourceClusterAnnotation:   "2x8cxnqmfw5lmjcs",
				SourceNamespaceAnnotation: "default",
				SourceNameAnnotation:      "my-db",
				SourceKindAnnotation:      "Database.db.example.com",
			},
		},
		"spec": map[string]any{
			"version":  "16",
			"replicas": int64(3),
			"storage":  map[string]any{"size": "10Gi", "class": "fast"},
		},
		"data": map[string]any{"k": "v"},
	}}
	if !reflect.DeepEqual(got.Object, want.Object) {
		t.Errorf("DesiredCopy =\n%v\nwant\n%v", got.Object, want.Object)
	}
	if owner, ok := OwnerOf(got); !ok || owner != testOwner {
		t.Errorf("OwnerOf(copy) = %+v, %v", owner, ok)
	}
	if !reflect.DeepEqual(source.Object, before.Object) {
		t.Error("DesiredCopy changed the source")
	}

	// The copy shares no memory with the source.
	got.Object["spec"].(map[string]any)["storage"].(map[string]any)["size"] = "1Ti"
	if !reflect.DeepEqual(source.Object, before.Object) {
		t.Error("the copy aliases the source")
	}
}

func TestDesiredCopyClusterScopedTarget(t *testing.T) {
	spec := copySpec()
	spec.Namespace = ""
	got, err := DesiredCopy(consumerObject(), spec)
	if err != nil {
		t.Fatalf("DesiredCopy: %v", err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "metadata", "namespace"); found {
		t.Errorf("cluster-scoped copy has a namespace: %v", got.Object["metadata"])
	}
}

func TestDesiredCopyMutation(t *testing.T) {
	source := consumerObject()
	before := source.DeepCopy()
	spec := copySpec()
	spec.Mutation = compileSteps(t,
		syncagentv1alpha1.MutationStep{Delete: &syncagentv1alpha1.DeleteStep{Path: "spec.storage.class"}},
		syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: "spec.owner", Template: "{{ .ClusterPath }}/{{ .Object.metadata.name }}"}},
		syncagentv1alpha1.MutationStep{CEL: &syncagentv1alpha1.CELStep{Path: "spec.replicas", Expression: "self.spec.replicas * 2"}},
		// Steps see the source's status and may add labels; reserved keys are still dropped.
		syncagentv1alpha1.MutationStep{CEL: &syncagentv1alpha1.CELStep{Path: "metadata.labels.phase", Expression: "self.status.phase"}},
		syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: `metadata.labels.sync\.bindery\.dev/agent`, Template: "hijack"}},
		// The engine's fields win over a mutation.
		syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: "metadata.name", Template: "renamed"}},
		syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: "kind", Template: "Other"}},
	)
	got, err := DesiredCopy(source, spec)
	if err != nil {
		t.Fatalf("DesiredCopy: %v", err)
	}
	wantSpec := map[string]any{
		"version":  "16",
		"replicas": int64(6),
		"storage":  map[string]any{"size": "10Gi"},
		"owner":    "root:org:team/my-db",
	}
	if !reflect.DeepEqual(got.Object["spec"], wantSpec) {
		t.Errorf("spec = %v, want %v", got.Object["spec"], wantSpec)
	}
	if l := got.GetLabels(); l["phase"] != "Ready" || l[AgentLabel] != "db-agent" {
		t.Errorf("labels = %v", l)
	}
	if got.GetName() != "default-my-db" || got.GetKind() != "PostgresCluster" {
		t.Errorf("mutation changed engine fields: %s %s", got.GetKind(), got.GetName())
	}
	if !reflect.DeepEqual(source.Object, before.Object) {
		t.Error("DesiredCopy changed the source")
	}
}

func TestDesiredCopyErrors(t *testing.T) {
	tests := []struct {
		name   string
		source *unstructured.Unstructured
		modify func(*CopySpec)
		want   string
	}{
		{"nil source", nil, nil, "no source"},
		{"no kind", consumerObject(), func(s *CopySpec) { s.GVK.Kind = "" }, "kind"},
		{"no name", consumerObject(), func(s *CopySpec) { s.Name = "" }, "target name"},
		{"invalid owner", consumerObject(), func(s *CopySpec) { s.Owner.Agent = "Bad Agent" }, "agent name"},
		{"owner without a source kind", consumerObject(), func(s *CopySpec) { s.Owner.Source.Kind = schema.GroupKind{} }, "source kind"},
		{"failing mutation", consumerObject(), func(s *CopySpec) {
			s.Mutation = compileSteps(t, syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: "spec.x", Template: "{{ .Object.spec.missing }}"}})
		}, "steps[0].template"},
		{"non-string label from a mutation", consumerObject(), func(s *CopySpec) {
			s.Mutation = compileSteps(t, syncagentv1alpha1.MutationStep{CEL: &syncagentv1alpha1.CELStep{Path: "metadata.labels.n", Expression: "1"}})
		}, "metadata.labels"},
		{"non-JSON value", &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"n": 1}}}, nil, "spec.n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := copySpec()
			if tt.modify != nil {
				tt.modify(&spec)
			}
			got, err := DesiredCopy(tt.source, spec)
			if err == nil {
				t.Fatalf("DesiredCopy = %v, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestReservedKey(t *testing.T) {
	for key, want := range map[string]bool{
		"app":                         false,
		"example.com/x":               false,
		"notbindery.dev/x":            false,
		"kubernetes.io.example.com/x": false,
		"kubernetes.io/x":             true,
		"app.kubernetes.io/name":      true,
		"k8s.io/x":                    true,
		"node.k8s.io/x":               true,
		"kcp.io/cluster":              true,
		"tenancy.kcp.io/x":            true,
		"bindery.dev/x":               true,
		"sync.bindery.dev/agent":      true,
		"a.b.bindery.dev/x":           true,
		"Sync.Bindery.Dev/x":          true,
		"kubectl.kubernetes.io/last-applied-configuration": true,
	} {
		if got := reservedKey(key); got != want {
			t.Errorf("reservedKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func providerCopy() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": targetGVK.GroupVersion().String(),
		"kind":       targetGVK.Kind,
		"metadata":   map[string]any{"name": "default-my-db", "namespace": "2x8cxnqmfw5lmjcs"},
		"spec":       map[string]any{"version": "16"},
		"status": map[string]any{
			"phase":    "Ready",
			"endpoint": "db-1.internal.example.com:5432",
			"internal": map[string]any{"node": "worker-3"},
			"conditions": []any{
				map[string]any{"type": "Ready", "status": "True"},
			},
		},
	}}
}

func TestStatusUp(t *testing.T) {
	obj := providerCopy()
	before := obj.DeepCopy()

	got, found, err := StatusUp(obj, nil, templating.Data{})
	if err != nil || !found {
		t.Fatalf("StatusUp = %v, %v", found, err)
	}
	if !reflect.DeepEqual(got, before.Object["status"]) {
		t.Errorf("status = %v, want %v", got, before.Object["status"])
	}
	got["conditions"].([]any)[0].(map[string]any)["status"] = "False"
	if !reflect.DeepEqual(obj.Object, before.Object) {
		t.Error("the returned status aliases the copy")
	}
}

func TestStatusUpMutation(t *testing.T) {
	obj := providerCopy()
	before := obj.DeepCopy()
	prog := compileSteps(t,
		syncagentv1alpha1.MutationStep{Delete: &syncagentv1alpha1.DeleteStep{Path: "status.internal"}},
		syncagentv1alpha1.MutationStep{Regex: &syncagentv1alpha1.RegexStep{Path: "status.endpoint", Pattern: `\.internal\.example\.com`, Replacement: ".db.example.com"}},
		syncagentv1alpha1.MutationStep{CEL: &syncagentv1alpha1.CELStep{Path: "status.version", Expression: "self.spec.version"}},
		syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: "status.cluster", Template: "{{ .ClusterName }}"}},
		// Changes outside status are not returned.
		syncagentv1alpha1.MutationStep{Delete: &syncagentv1alpha1.DeleteStep{Path: "spec"}},
	)
	got, found, err := StatusUp(obj, prog, templating.Data{ClusterName: "2x8cxnqmfw5lmjcs"})
	if err != nil || !found {
		t.Fatalf("StatusUp = %v, %v", found, err)
	}
	want := map[string]any{
		"phase":      "Ready",
		"endpoint":   "db-1.db.example.com:5432",
		"version":    "16",
		"cluster":    "2x8cxnqmfw5lmjcs",
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(obj.Object, before.Object) {
		t.Error("StatusUp changed the copy")
	}
}

func TestStatusUpNone(t *testing.T) {
	failing := compileSteps(t, syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: "status.x", Template: "{{ .Object.status.phase }}"}})
	noStatus := providerCopy()
	delete(noStatus.Object, "status")
	nullStatus := providerCopy()
	nullStatus.Object["status"] = nil
	for name, obj := range map[string]*unstructured.Unstructured{"nil object": nil, "no status": noStatus, "null status": nullStatus} {
		got, found, err := StatusUp(obj, failing, templating.Data{})
		if err != nil || found || got != nil {
			t.Errorf("%s: StatusUp = %v, %v, %v; want nil, false, nil (the mutation must not run)", name, got, found, err)
		}
	}

	// A mutation that removes the status leaves nothing to write back.
	drop := compileSteps(t, syncagentv1alpha1.MutationStep{Delete: &syncagentv1alpha1.DeleteStep{Path: "status"}})
	if got, found, err := StatusUp(providerCopy(), drop, templating.Data{}); err != nil || found || got != nil {
		t.Errorf("StatusUp after deleting status = %v, %v, %v", got, found, err)
	}
}

func TestStatusUpErrors(t *testing.T) {
	notAnObject := providerCopy()
	notAnObject.Object["status"] = "Ready"
	if _, _, err := StatusUp(notAnObject, nil, templating.Data{}); err == nil {
		t.Error("StatusUp accepted a string status")
	}

	failing := compileSteps(t, syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: "status.x", Template: "{{ .Object.status.missing }}"}})
	if _, _, err := StatusUp(providerCopy(), failing, templating.Data{}); err == nil || !strings.Contains(err.Error(), "steps[0].template") {
		t.Errorf("StatusUp error = %v, want the failing step", err)
	}

	toString := compileSteps(t, syncagentv1alpha1.MutationStep{CEL: &syncagentv1alpha1.CELStep{Path: "status", Expression: `"gone"`}})
	if _, _, err := StatusUp(providerCopy(), toString, templating.Data{}); err == nil {
		t.Error("StatusUp accepted a mutation that made status a string")
	}
}

func TestDeepCopyObjectMatchesRuntime(t *testing.T) {
	obj := consumerObject().Object
	obj["extra"] = []any{nil, true, 1.5, json.Number("7"), []any{}}
	got, err := deepCopyObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if want := runtime.DeepCopyJSON(obj); !reflect.DeepEqual(got, want) {
		t.Errorf("deepCopyObject differs from runtime.DeepCopyJSON")
	}
}
