package mutation

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// Small builders keep the step tables readable.
func del(path string) syncagentv1alpha1.MutationStep {
	return syncagentv1alpha1.MutationStep{Delete: &syncagentv1alpha1.DeleteStep{Path: path}}
}

func rx(path, pattern, replacement string) syncagentv1alpha1.MutationStep {
	return syncagentv1alpha1.MutationStep{Regex: &syncagentv1alpha1.RegexStep{Path: path, Pattern: pattern, Replacement: replacement}}
}

func tpl(path, text string) syncagentv1alpha1.MutationStep {
	return syncagentv1alpha1.MutationStep{Template: &syncagentv1alpha1.TemplateStep{Path: path, Template: text}}
}

func celStepOf(path, expr string) syncagentv1alpha1.MutationStep {
	return syncagentv1alpha1.MutationStep{CEL: &syncagentv1alpha1.CELStep{Path: path, Expression: expr}}
}

func testObject() map[string]any {
	return map[string]any{
		"apiVersion": "example.com/v1",
		"kind":       "Database",
		"metadata": map[string]any{
			"name":      "my-db",
			"namespace": "default",
			"annotations": map[string]any{
				"kubectl.kubernetes.io/last-applied-configuration": "{}",
			},
		},
		"spec": map[string]any{
			"host":     "db-1.internal.example.com",
			"replicas": int64(3),
			"ports":    []any{map[string]any{"name": "pg", "port": int64(5432)}},
			"secret":   map[string]any{"name": "creds"},
		},
	}
}

var testData = templating.Data{ClusterName: "2x8cxnqmfw5lmjcs", ClusterPath: "root:org:team"}

func mustCompile(t *testing.T, steps ...syncagentv1alpha1.MutationStep) *Program {
	t.Helper()
	p, err := Compile(steps)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func get(t *testing.T, obj map[string]any, path string) any {
	t.Helper()
	v, _, err := mustPath(t, path).Get(obj)
	if err != nil {
		t.Fatalf("Get(%s): %v", path, err)
	}
	return v
}

func TestApplyDelete(t *testing.T) {
	obj := testObject()
	prog := mustCompile(t,
		del(`metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration`),
		del("spec.ports.0"),
		del("spec.absent.field"),
	)
	if err := prog.Apply(obj, testData); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := get(t, obj, "metadata.annotations"); !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf("annotations = %v", got)
	}
	if got := get(t, obj, "spec.ports"); !reflect.DeepEqual(got, []any{}) {
		t.Errorf("ports = %v", got)
	}
}

func TestApplyRegex(t *testing.T) {
	obj := testObject()
	prog := mustCompile(t,
		rx("spec.host", `^db-(\d+)\.internal\.(?P<domain>.*)$`, "replica-${1}.${domain}"),
		rx("spec.absent", "x", "y"), // absent: no-op
		rx("spec.ports.0.name", "g", "G"),
	)
	if err := prog.Apply(obj, testData); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := get(t, obj, "spec.host"); got != "replica-1.example.com" {
		t.Errorf("host = %v", got)
	}
	if got := get(t, obj, "spec.ports.0.name"); got != "pG" {
		t.Errorf("ports.0.name = %v", got)
	}
	if _, found, _ := mustPath(t, "spec.absent").Get(obj); found {
		t.Error("regex step created an absent field")
	}
}

func TestApplyRegexNonString(t *testing.T) {
	err := mustCompile(t, rx("spec.host", "x", "y"), rx("spec.replicas", "3", "4")).Apply(testObject(), testData)
	want := `steps[1].regex at "spec.replicas": the field is a number, but a regex step needs a string`
	if err == nil || err.Error() != want {
		t.Errorf("Apply error = %v, want %q", err, want)
	}
}

func TestApplyTemplate(t *testing.T) {
	obj := testObject()
	prog := mustCompile(t,
		tpl("spec.owner", `{{ .ClusterName }}/{{ .Object.metadata.namespace }}/{{ .Object.metadata.name }}`),
		tpl("spec.new.nested.label", `{{ dnsLabel .ClusterPath .Object.metadata.name }}`),
		tpl("spec.ports.0.name", `{{ .Object.spec.ports }}`),
	)
	if err := prog.Apply(obj, testData); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := get(t, obj, "spec.owner"); got != "2x8cxnqmfw5lmjcs/default/my-db" {
		t.Errorf("owner = %v", got)
	}
	if got := get(t, obj, "spec.new.nested.label"); got != templating.DNSLabel("root:org:team", "my-db") {
		t.Errorf("label = %v", got)
	}
	if got := get(t, obj, "spec.ports.0.name"); got != "[map[name:pg port:5432]]" {
		t.Errorf("ports.0.name = %v", got)
	}
}

func TestApplyTemplateMissingKey(t *testing.T) {
	err := mustCompile(t, tpl("spec.x", `{{ .Object.spec.nope }}`)).Apply(testObject(), testData)
	if err == nil || !strings.Contains(err.Error(), `steps[0].template at "spec.x"`) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Apply error = %v", err)
	}
}

func TestApplyTemplateSeesCurrentObject(t *testing.T) {
	obj := testObject()
	data := testData
	data.Object = map[string]any{"spec": map[string]any{"host": "stale"}}
	if err := mustCompile(t, tpl("spec.copy", "{{ .Object.spec.host }}")).Apply(obj, data); err != nil {
		t.Fatal(err)
	}
	if got := get(t, obj, "spec.copy"); got != "db-1.internal.example.com" {
		t.Errorf("template saw %v, want the object being mutated", got)
	}
}

func TestApplyOrder(t *testing.T) {
	obj := testObject()
	// Each step sees what the previous one left behind.
	prog := mustCompile(t,
		tpl("spec.a", "{{ .Object.spec.host }}"),
		rx("spec.a", `\.internal`, ""),
		celStepOf("spec.b", `self.spec.a + "/" + clusterName`),
		del("spec.a"),
		tpl("spec.c", `{{ .Object.spec.b }}!`),
	)
	if err := prog.Apply(obj, testData); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, found, _ := mustPath(t, "spec.a").Get(obj); found {
		t.Error("spec.a survived its delete step")
	}
	if got := get(t, obj, "spec.c"); got != "db-1.example.com/2x8cxnqmfw5lmjcs!" {
		t.Errorf("spec.c = %v", got)
	}
}

func TestApplyBadPaths(t *testing.T) {
	for _, tt := range []struct {
		step syncagentv1alpha1.MutationStep
		want string
	}{
		{del("spec.host.x"), `steps[0].delete at "spec.host.x": spec.host is a string`},
		{rx("spec.ports.name", "a", "b"), `steps[0].regex at "spec.ports.name": spec.ports is a list, but "name" is not a list index`},
		{tpl("spec.replicas.x", "v"), `steps[0].template at "spec.replicas.x": spec.replicas is a number`},
		{celStepOf("spec.ports.7", "1"), `steps[0].cel at "spec.ports.7": spec.ports.7: index 7 is out of range`},
		{celStepOf("spec.none.0", "1"), `steps[0].cel at "spec.none.0": spec.none is absent`},
	} {
		err := mustCompile(t, tt.step).Apply(testObject(), testData)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Apply error = %v, want prefix %q", err, tt.want)
		}
	}
}

func TestApplyOddObjects(t *testing.T) {
	prog := mustCompile(t,
		del("a.b"), rx("a.b", "x", "y"), tpl("c.d", "v"), celStepOf("e", "self"),
	)
	// Must not panic, whatever the object holds.
	for _, obj := range []map[string]any{
		{},
		{"a": nil},
		{"a": []any{}},
		{"a": map[string]any{"b": nil}},
		{"a": map[string]any{"b": []any{"x"}}},
		{"a": map[string]any{"b": map[string]any{}}},
		{"a": int64(1), "c": "str"},
		{"c": []any{nil}},
	} {
		_ = prog.Apply(obj, testData)
	}
	if err := prog.Apply(nil, testData); err == nil {
		t.Error("Apply on a nil object succeeded")
	}
	if err := (*Program)(nil).Apply(map[string]any{}, testData); err != nil {
		t.Errorf("nil Program: %v", err)
	}
	if err := mustCompile(t).Apply(nil, testData); err != nil {
		t.Errorf("empty Program on a nil object: %v", err)
	}
}

func TestApplyResultIsDeepCopyable(t *testing.T) {
	obj := testObject()
	prog := mustCompile(t,
		celStepOf("spec.copy", `self.spec`),
		celStepOf("spec.mixed", `{"b": b"hi", "t": timestamp("2024-01-02T03:04:05Z"), "d": duration("90s"), "u": 7u}`),
	)
	if err := prog.Apply(obj, testData); err != nil {
		t.Fatal(err)
	}
	// DeepCopyJSON panics on anything that is not plain JSON.
	u := &unstructured.Unstructured{Object: obj}
	_ = u.DeepCopy()
	want := map[string]any{"b": "aGk=", "t": "2024-01-02T03:04:05Z", "d": "1m30s", "u": int64(7)}
	if got := get(t, obj, "spec.mixed"); !reflect.DeepEqual(got, want) {
		t.Errorf("mixed = %#v, want %#v", got, want)
	}
	// The copy must not alias the original.
	obj["spec"].(map[string]any)["secret"].(map[string]any)["name"] = "changed"
	if got := get(t, obj, "spec.copy.secret.name"); got != "creds" {
		t.Errorf("CEL result aliases the input: %v", got)
	}
}

func TestCompileError(t *testing.T) {
	_, err := Compile([]syncagentv1alpha1.MutationStep{
		del("spec.x"),
		rx("spec.y", "a", "b"),
		celStepOf("spec.z", "self.spec.("),
		tpl("spec.w", "{{"),
	})
	if err == nil || !strings.HasPrefix(err.Error(), "steps[2].cel.expression: Invalid value") {
		t.Errorf("Compile error = %v, want the first problem, steps[2].cel.expression", err)
	}
}

func TestValidateReportsEveryStep(t *testing.T) {
	steps := []syncagentv1alpha1.MutationStep{
		del("spec..x"),
		rx("spec.host", "(", "x"),
		tpl("spec.a", "{{ .Object.x "),
		celStepOf("spec.b", "self.spec +"),
		celStepOf("spec.c", "nope(self)"),
		del("spec.ok"),
		{},
		{Delete: &syncagentv1alpha1.DeleteStep{Path: "a"}, CEL: &syncagentv1alpha1.CELStep{Path: "b", Expression: "1"}},
		rx("", "", "$1"),
		rx("spec.host", "(a)(?P<name>b)", "$1$2${name}$$ $1x"),
		rx("spec.host", "(a)", "${2}"),
		celStepOf("spec.ports.01", "1"),
	}
	errs := Validate(field.NewPath("spec", "mutation", "spec"), steps)

	want := []struct {
		field  string
		typ    field.ErrorType
		detail string
	}{
		{"spec.mutation.spec[0].delete.path", field.ErrorTypeInvalid, "empty segment"},
		{"spec.mutation.spec[1].regex.pattern", field.ErrorTypeInvalid, "missing closing )"},
		{"spec.mutation.spec[2].template.template", field.ErrorTypeInvalid, "spec.mutation.spec[2].template.template:1"},
		{"spec.mutation.spec[3].cel.expression", field.ErrorTypeInvalid, "Syntax error"},
		{"spec.mutation.spec[4].cel.expression", field.ErrorTypeInvalid, "undeclared reference to 'nope'"},
		{"spec.mutation.spec[6]", field.ErrorTypeRequired, "set exactly one"},
		{"spec.mutation.spec[7]", field.ErrorTypeInvalid, "set exactly one"},
		{"spec.mutation.spec[8].regex.path", field.ErrorTypeRequired, ""},
		{"spec.mutation.spec[8].regex.pattern", field.ErrorTypeRequired, ""},
		{"spec.mutation.spec[9].regex.replacement", field.ErrorTypeInvalid, `refers to group "1x", which the pattern does not define (write ${1}x to follow group 1 with "x")`},
		{"spec.mutation.spec[10].regex.replacement", field.ErrorTypeInvalid, `refers to group "2"`},
		{"spec.mutation.spec[11].cel.path", field.ErrorTypeInvalid, "leading zero"},
	}
	if len(errs) != len(want) {
		t.Errorf("Validate returned %d errors, want %d:\n%s", len(errs), len(want), errs.ToAggregate())
	}
	for i := 0; i < len(errs) && i < len(want); i++ {
		e, w := errs[i], want[i]
		if e.Field != w.field || e.Type != w.typ || !strings.Contains(e.Detail, w.detail) {
			t.Errorf("error %d = %s (%s), want field %s type %s detail containing %q", i, e, e.Type, w.field, w.typ, w.detail)
		}
		if !strings.HasPrefix(e.Error(), w.field+": ") {
			t.Errorf("error %d message %q does not start with its path", i, e.Error())
		}
	}
}

func TestValidateValid(t *testing.T) {
	steps := []syncagentv1alpha1.MutationStep{
		del("spec.x"),
		rx("spec.host", `(?P<host>[a-z]+)\.(.*)`, "${host}-$2 costs $$1"),
		tpl("spec.name", `{{ dnsLabel .ClusterName .Object.metadata.name }}`),
		celStepOf("spec.n", `self.spec.replicas * 2`),
		celStepOf("spec.s", `self.metadata.name.upperAscii() + base64.encode(b"x")`),
		celStepOf("spec.o", `self.?spec.missing.orValue("default")`),
	}
	if errs := Validate(field.NewPath("spec"), steps); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs.ToAggregate())
	}
	prog := mustCompile(t, steps...)
	if prog.Len() != len(steps) {
		t.Errorf("Len = %d", prog.Len())
	}
	if errs := Validate(field.NewPath("spec"), nil); len(errs) > 0 {
		t.Errorf("Validate(nil) = %v", errs)
	}
}

func TestApplyConcurrently(t *testing.T) {
	prog := mustCompile(t,
		rx("spec.host", `\.internal`, ""),
		tpl("spec.owner", "{{ .ClusterName }}"),
		celStepOf("spec.double", "self.spec.replicas * 2"),
	)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			obj := testObject()
			data := templating.Data{ClusterName: fmt.Sprint("c", i)}
			if err := prog.Apply(obj, data); err != nil {
				t.Errorf("Apply: %v", err)
				return
			}
			if got := obj["spec"].(map[string]any)["owner"]; got != data.ClusterName {
				t.Errorf("owner = %v, want %s", got, data.ClusterName)
			}
		}(i)
	}
	wg.Wait()
}
