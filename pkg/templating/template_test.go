package templating

import (
	"strings"
	"testing"
)

func testData() Data {
	return Data{
		ClusterName: "2x8cxnqmfw5lmjcs",
		ClusterPath: "root:org:team",
		Object: map[string]any{
			"metadata": map[string]any{
				"name":      "my-db",
				"namespace": "default",
				"labels":    map[string]any{"tier": "Gold"},
			},
			"spec": map[string]any{"replicas": int64(3)},
		},
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"fields", `{{ .ClusterName }}/{{ .ClusterPath }}/{{ .Object.metadata.name }}`, "2x8cxnqmfw5lmjcs/root:org:team/my-db"},
		{"non-string value", `{{ .Object.spec.replicas }}`, "3"},
		{"shortHash", `{{ shortHash .ClusterName .Object.metadata.name }}`, ShortHash("2x8cxnqmfw5lmjcs", "my-db")},
		{"dnsLabel", `{{ dnsLabel .Object.metadata.namespace .Object.metadata.name }}`, "default-my-db"},
		{"lower", `{{ lower .Object.metadata.labels.tier }}`, "gold"},
		{"trunc", `{{ trunc 4 .ClusterName }}`, "2x8c"},
		{"trunc longer than input", `{{ trunc 100 .Object.metadata.name }}`, "my-db"},
		{"join", `{{ join "." .Object.metadata.namespace .Object.metadata.name .ClusterName }}`, "default.my-db.2x8cxnqmfw5lmjcs"},
		{"pipeline", `{{ .Object.metadata.labels.tier | lower | trunc 2 }}`, "go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse(tt.name, tt.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := tmpl.Render(testData())
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderMissingKey(t *testing.T) {
	tmpl, err := Parse("spec.naming.name", `{{ .Object.metadata.generateName }}`)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	_, err = tmpl.Render(testData())
	if err == nil {
		t.Fatal("Render succeeded, want a missing key error")
	}
	for _, want := range []string{`"spec.naming.name"`, "generateName"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestRenderFunctionError(t *testing.T) {
	tmpl, err := Parse("t", `{{ trunc -1 "abc" }}`)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if _, err := tmpl.Render(Data{}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("Render error = %v, want a negative length error", err)
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := Parse("spec.naming.namespace", "ok\n{{ .ClusterName ")
	if err == nil {
		t.Fatal("Parse succeeded, want a syntax error")
	}
	// The name says which field is wrong, the line number where in it.
	for _, want := range []string{`parsing template "spec.naming.namespace"`, "spec.naming.namespace:2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestParseUnknownFunction(t *testing.T) {
	if _, err := Parse("t", `{{ upper .ClusterName }}`); err == nil || !strings.Contains(err.Error(), `"upper" not defined`) {
		t.Errorf("Parse error = %v, want an undefined function error", err)
	}
}

func TestTemplateName(t *testing.T) {
	tmpl, err := Parse("spec.naming.name", "x")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name() != "spec.naming.name" {
		t.Errorf("Name = %q", tmpl.Name())
	}
}

func TestTrunc(t *testing.T) {
	for _, tt := range []struct {
		n    int
		s    string
		want string
	}{
		{0, "abc", ""},
		{2, "abc", "ab"},
		{3, "abc", "abc"},
		{2, "äöü", "äö"},
	} {
		got, err := trunc(tt.n, tt.s)
		if err != nil || got != tt.want {
			t.Errorf("trunc(%d, %q) = %q, %v; want %q", tt.n, tt.s, got, err, tt.want)
		}
	}
}
