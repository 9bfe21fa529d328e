package templating

import (
	"fmt"
	"strings"
	"text/template"
)

// Data is what a template sees as its dot.
type Data struct {
	// ClusterName is the logical cluster of the consumer's workspace.
	ClusterName string
	// ClusterPath is the workspace path of the consumer (for example root:org:team), when known.
	ClusterPath string
	// Object is the object the template is evaluated for, as unstructured content.
	Object map[string]any
}

// Template is a parsed template. It is safe for concurrent use: one Template parsed from a
// PublishedResource serves every object synced for it.
type Template struct {
	name string
	tmpl *template.Template
}

// Parse parses text as a Go template called name. The name appears in every error, so callers
// pass the field the template came from (for example "spec.naming.name"). Syntax errors carry
// the position in the template as text/template reports it ("name:line:col").
func Parse(name, text string) (*Template, error) {
	t, err := template.New(name).
		// A missing key is nearly always a typo or an object that lacks the field; rendering
		// "<no value>" into a name or a spec field would hide that until much later.
		Option("missingkey=error").
		Funcs(funcMap()).
		Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing template %q: %w", name, err)
	}
	return &Template{name: name, tmpl: t}, nil
}

// Name is the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Render executes the template with data and returns its output unchanged (no whitespace is
// trimmed: callers that need a name validate the result themselves).
func (t *Template) Render(data Data) (string, error) {
	var out strings.Builder
	if err := t.tmpl.Execute(&out, data); err != nil {
		return "", fmt.Errorf("rendering template %q: %w", t.name, err)
	}
	return out.String(), nil
}
